-- Written by scripts/sqlite_baseline.py from the migrations; do not edit.
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE audit_event (
	id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	kind VARCHAR NOT NULL, 
	ticket_id INTEGER, 
	inbox_id INTEGER, 
	detail TEXT NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE inbox (
	id INTEGER NOT NULL, 
	account VARCHAR NOT NULL, 
	mailbox VARCHAR NOT NULL, 
	uidvalidity BIGINT NOT NULL, 
	uid BIGINT NOT NULL, 
	dedupe_key VARCHAR, 
	message_id VARCHAR NOT NULL, 
	raw_sha256 VARCHAR NOT NULL, 
	raw BLOB NOT NULL, 
	size INTEGER NOT NULL, 
	status VARCHAR NOT NULL, 
	reason VARCHAR NOT NULL, 
	duplicate_of INTEGER, 
	ticket_id INTEGER, 
	fetched_at DATETIME NOT NULL, 
	processed_at DATETIME, raw_state TEXT DEFAULT '' NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (account, mailbox, uidvalidity, uid), 
	UNIQUE (dedupe_key)
);

CREATE TABLE mailbox_state (
	id INTEGER NOT NULL, 
	account VARCHAR NOT NULL, 
	mailbox VARCHAR NOT NULL, 
	uidvalidity BIGINT NOT NULL, 
	last_uid BIGINT NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (account, mailbox)
);

CREATE TABLE outbox (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	seq INTEGER NOT NULL, 
	message_id VARCHAR NOT NULL, 
	sender VARCHAR NOT NULL, 
	recipients VARCHAR NOT NULL, 
	raw BLOB NOT NULL, 
	status VARCHAR NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	last_error VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	sent_at DATETIME, claimed_by TEXT DEFAULT '' NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (message_id), 
	UNIQUE (ticket_id, kind, seq)
);

CREATE TABLE ticket (
	id INTEGER NOT NULL, 
	ref VARCHAR NOT NULL, 
	customer_address VARCHAR NOT NULL, 
	customer_name VARCHAR NOT NULL, 
	subject VARCHAR NOT NULL, 
	category VARCHAR NOT NULL, 
	urgency VARCHAR NOT NULL, 
	language VARCHAR NOT NULL, 
	status VARCHAR NOT NULL, 
	needs_triage BOOLEAN NOT NULL, 
	confidence FLOAT NOT NULL, 
	model_version VARCHAR NOT NULL, 
	explanation TEXT NOT NULL, 
	received_at DATETIME NOT NULL, 
	first_response_due DATETIME NOT NULL, 
	first_response_at DATETIME, 
	resolved_at DATETIME, 
	escalation_level INTEGER NOT NULL, 
	created_at DATETIME NOT NULL, resolution_due DATETIME, assignee TEXT DEFAULT '' NOT NULL, next_escalation_at DATETIME, promise_start DATETIME, last_response_at DATETIME, exposed TEXT DEFAULT '' NOT NULL, lookalikes TEXT DEFAULT '' NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (ref)
);

CREATE TABLE ticket_message (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	direction VARCHAR NOT NULL, 
	kind VARCHAR NOT NULL, 
	message_id VARCHAR NOT NULL, 
	inbox_id INTEGER, 
	from_address VARCHAR NOT NULL, 
	subject VARCHAR NOT NULL, 
	body TEXT NOT NULL, 
	created_at DATETIME NOT NULL, new_text TEXT DEFAULT '' NOT NULL, attachments TEXT DEFAULT '[]' NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE model_activation (
	id INTEGER NOT NULL, 
	version VARCHAR NOT NULL, 
	path VARCHAR NOT NULL, 
	action VARCHAR NOT NULL, 
	activated_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE ticket_label (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	category VARCHAR NOT NULL, 
	urgency VARCHAR NOT NULL, 
	labelled_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE "escalation" (
	id INTEGER NOT NULL, 
	ticket_id INTEGER NOT NULL, 
	target TEXT DEFAULT 'first_response' NOT NULL, 
	level INTEGER NOT NULL, 
	due_at DATETIME NOT NULL, 
	reason VARCHAR NOT NULL, 
	created_at DATETIME NOT NULL, 
	webhook TEXT DEFAULT '' NOT NULL, 
	webhook_sent_at DATETIME, 
	webhook_error TEXT DEFAULT '' NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (ticket_id, target, level, due_at)
);

CREATE TABLE lease (
	name VARCHAR NOT NULL, 
	holder VARCHAR NOT NULL, 
	expires_at DATETIME NOT NULL, 
	PRIMARY KEY (name)
);

CREATE INDEX ix_audit_event_at ON audit_event (at);

CREATE INDEX ix_audit_event_kind ON audit_event (kind);

CREATE INDEX ix_audit_event_ticket_id ON audit_event (ticket_id);

CREATE INDEX ix_inbox_message_id ON inbox (message_id);

CREATE INDEX ix_inbox_status ON inbox (status);

CREATE INDEX ix_inbox_ticket_id ON inbox (ticket_id);

CREATE INDEX ix_outbox_due ON outbox (status, next_attempt_at);

CREATE INDEX ix_ticket_customer_address ON ticket (customer_address);

CREATE INDEX ix_ticket_first_response_due ON ticket (first_response_due);

CREATE INDEX ix_ticket_status ON ticket (status);

CREATE INDEX ix_ticket_message_message_id ON ticket_message (message_id);

CREATE INDEX ix_ticket_message_ticket_id ON ticket_message (ticket_id);

CREATE INDEX ix_ticket_label_ticket_id ON ticket_label (ticket_id);

CREATE INDEX ix_ticket_resolution_due ON ticket (resolution_due);

CREATE INDEX ix_ticket_next_escalation_at ON ticket (next_escalation_at);

CREATE INDEX ix_escalation_ticket_id ON escalation (ticket_id);

CREATE INDEX ix_outbox_recipients_created ON outbox (recipients, created_at);

INSERT INTO alembic_version (version_num) VALUES ('0011');

