"""The pure stages of processing, for a whole batch: parse -> screen -> classify -> FAQ.

No database, no clock: what comes out depends only on the raw messages, the model and the
configuration, so it can run in this process or in a worker process (runners/preparepool.py)
and give the same result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from mailbot.core.classify import ClassifyPolicy, TextModel, classify, model_text
from mailbot.core.parse import parse
from mailbot.core.protect import Exposure, protect, screen
from mailbot.domain import Classification, FaqLink, ParsedMail, PendingInbox

log = logging.getLogger(__name__)

# Messages per model call. Small enough that the model keeps each chunk's n-grams for the
# explanations that follow (HashedFeatures.MEMO_TEXTS), large enough that a call's fixed
# cost stays small.
PREDICT_CHUNK = 32

# (text, language) pairs -> the knowledge-base links worth suggesting for each
Suggest = Callable[[Sequence[tuple[str, str]]], list[tuple[FaqLink, ...]]]


def no_suggestions(queries: Sequence[tuple[str, str]]) -> list[tuple[FaqLink, ...]]:
    return [() for _ in queries]


@dataclass(frozen=True)
class PrepareConfig:
    """What the pure stages need to know from the settings (picklable: it goes to workers)."""

    classify_policy: ClassifyPolicy
    max_bytes: int = 40 * 1024 * 1024
    # Our own domains (lookalikes in forwarded mail are phishing), and the category such a
    # ticket gets.
    official_domains: tuple[str, ...] = ()
    incident_category: str = "security_incident"
    # Agents: their addresses and "@domains", and the (account, folder)s of sent mail.
    agent_addresses: frozenset[str] = frozenset()
    sent_mailboxes: frozenset[tuple[str, str]] = frozenset()


@dataclass
class Prepared:
    """One message after the pure stages; `error` set means it is to be quarantined."""

    mail: ParsedMail | None = None
    agent: bool = False
    classification: Classification | None = None
    faq: tuple[FaqLink, ...] = ()
    error: Exception | None = None
    exposure: Exposure = field(default_factory=Exposure)  # secrets (redacted), lookalikes


class _Predicted:
    """The model, with the predictions for a chunk's texts made in one call
    (predict_many: ~0.4 ms a text instead of ~2.4 ms one by one)."""

    def __init__(self, model: TextModel, texts: list[str]) -> None:
        self._model = model
        self.version = model.version
        self._known: dict[str, tuple[Mapping[str, float], Mapping[str, float]]] = {}
        many = getattr(model, "predict_many", None)
        if many is not None and texts:
            try:
                self._known = dict(zip(texts, many(texts), strict=True))
            except Exception:  # one text may break the batch: predict one at a time then
                log.exception("batch prediction failed; predicting one message at a time")

    @property
    def thresholds(self) -> Mapping[str, Mapping[str, float]]:
        return self._model.thresholds

    def predict(self, text: str) -> tuple[Mapping[str, float], Mapping[str, float]]:
        known = self._known.get(text)
        return known if known is not None else self._model.predict(text)

    def explain(
        self, text: str, labels: Mapping[str, str], k: int = 5
    ) -> Mapping[str, Sequence[str]]:
        return self._model.explain(text, labels, k)


class Preparer:
    def __init__(
        self,
        config: PrepareConfig,
        *,
        detect_language: Callable[[str], str | None],
        suggest: Suggest = no_suggestions,
    ) -> None:
        self._cfg = config
        self._detect = detect_language
        self._suggest = suggest

    def prepare(self, rows: Sequence[PendingInbox], model: TextModel) -> list[Prepared]:
        """Parse, classify and look up FAQ answers for a batch: one model call per chunk of
        PREDICT_CHUNK messages, one FAQ call for the batch. Never raises for one message:
        its error is kept on its item, for quarantine."""
        work = [self._parsed(row) for row in rows]
        for start in range(0, len(work), PREDICT_CHUNK):
            self._classify(work[start : start + PREDICT_CHUNK], model)
        self._add_suggestions([w for w in work if w.classification is not None])
        return work

    def _classify(self, work: list[Prepared], model: TextModel) -> None:
        """One model call for the chunk, then each message's decision and explanation."""
        texts = [model_text(w.mail) for w in work if w.mail is not None]
        predicted = _Predicted(model, texts)
        for w in work:
            if w.mail is not None and not w.agent:
                try:
                    w.classification = protect(
                        classify(
                            w.mail,
                            model=predicted,
                            detect_language=self._detect,
                            policy=self._cfg.classify_policy,
                        ),
                        w.exposure,
                        urgencies=self._cfg.classify_policy.urgencies,
                        incident_category=self._cfg.incident_category,
                    )
                except Exception as exc:  # per item: this message is quarantined
                    w.error = exc
        forget = getattr(model, "forget", None)  # the chunk's kept n-grams, if any
        if forget is not None:
            forget()

    def _add_suggestions(self, work: list[Prepared]) -> None:
        """FAQ links for every classified message, in one call (one vectorisation)."""
        queries = [
            (model_text(w.mail), w.classification.language)
            for w in work
            if w.mail is not None and w.classification is not None
        ]
        try:
            found = self._suggest(queries)
        except Exception:  # one bad text must not cost the whole batch: one at a time
            log.exception("FAQ suggestions failed for a batch; trying one message at a time")
            found = []
            for w, query in zip(work, queries, strict=True):
                try:
                    found.extend(self._suggest([query]))
                except Exception as exc:  # per item: this message is quarantined
                    w.error = exc
                    found.append(())
        for w, links in zip(work, found, strict=True):
            w.faq = links

    def _parsed(self, row: PendingInbox) -> Prepared:
        try:
            parsed = parse(row.raw, max_bytes=self._cfg.max_bytes)
            # Secrets are redacted before anything else sees the mail (core/protect.py).
            mail, exposure = screen(parsed, self._cfg.official_domains)
            return Prepared(mail=mail, agent=self._from_agent(row, mail), exposure=exposure)
        except Exception as exc:  # per item: this message is quarantined
            return Prepared(error=exc)

    def _from_agent(self, row: PendingInbox, mail: ParsedMail) -> bool:
        if (row.account, row.mailbox) in self._cfg.sent_mailboxes:
            return True
        sender = mail.from_address.lower()
        domain = "@" + sender.rpartition("@")[2]
        return sender in self._cfg.agent_addresses or domain in self._cfg.agent_addresses
