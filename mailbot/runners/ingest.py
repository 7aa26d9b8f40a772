"""IMAP -> inbox rows -> commit -> only then flag on the server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from mailbot.adapters.imap import ImapMailbox
from mailbot.adapters.store import Store
from mailbot.clock import Clock
from mailbot.core.parse import message_id_of
from mailbot.settings import ImapSettings
from mailbot.testing import crash

log = logging.getLogger(__name__)


class Ingestor:
    """Fetches what is new since the last recorded UID; the database, not \\Seen, is the truth."""

    def __init__(
        self,
        settings: ImapSettings,
        store: Store,
        clock: Clock,
        connect: Callable[[], ImapMailbox] | None = None,
    ) -> None:
        self._s = settings
        self._account = settings.account
        self._store = store
        self._clock = clock
        self._connect = connect or (lambda: ImapMailbox(settings, settings.account))
        self._mailbox: ImapMailbox | None = None

    @property
    def label(self) -> str:
        return self._s.label

    async def poll_once(self) -> int:
        """Fetch and archive every new message; returns how many new rows were stored."""
        mailbox = await self._connected()
        uidvalidity = await mailbox.select()
        state = await asyncio.to_thread(self._store.mailbox_state, self._account, mailbox.folder)
        last_uid = state[1] if state is not None and state[0] == uidvalidity else 0
        if state is not None and state[0] != uidvalidity:
            log.warning(
                "UIDVALIDITY of %s changed %s -> %s: re-scanning (dedupe by Message-ID)",
                mailbox.folder,
                state[0],
                uidvalidity,
            )
        new = 0
        # Search again until nothing is new: mail that arrives while we fetch is announced in
        # the replies to FETCH/STORE, which aioimaplib drops, so the next IDLE would not see it.
        while uids := await mailbox.uids_after(last_uid):
            for start in range(0, len(uids), self._s.fetch_batch):
                new += await self._ingest_batch(
                    mailbox, uidvalidity, uids[start : start + self._s.fetch_batch]
                )
            last_uid = uids[-1]
        return new

    async def _ingest_batch(self, mailbox: ImapMailbox, uidvalidity: int, uids: list[int]) -> int:
        fetched = await mailbox.fetch(uids)
        mails = fetched.mails
        message_ids = [message_id_of(m.raw) for m in mails]
        for uid, reason in fetched.missing:
            log.error("ALERT UID %d of %s could not be fetched: %s", uid, mailbox.folder, reason)
        new = await asyncio.to_thread(
            self._store.store_fetched,
            self._account,
            mailbox.folder,
            uidvalidity,
            mails,
            message_ids,
            now=self._clock.now(),
            unfetchable=fetched.missing,
        )
        # Flag only after the commit: a crash in between re-fetches nothing (last_uid moved)
        # and leaves at worst an unflagged message on the server.
        crash.point("after-inbox-commit")  # test-only, inert unless MAILBOT_TEST_CRASH_AT
        done = [m.uid for m in mails]
        if self._s.after_store == "seen":
            await mailbox.mark_seen(done)
        elif self._s.after_store == "move":
            await mailbox.move(done, self._s.move_to)
        log.info("fetched %d message(s) from %s, %d new", len(mails), mailbox.folder, new)
        return new

    async def wait_for_news(self, stop: asyncio.Event) -> None:
        """Until new mail is likely: IDLE when the server offers it, else the poll interval."""
        mailbox = self._mailbox
        if self._s.idle and mailbox is not None and mailbox.supports_idle:
            await mailbox.wait_for_change(self._s.poll_interval, stop)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self._s.poll_interval)

    async def _connected(self) -> ImapMailbox:
        if self._mailbox is None:
            mailbox = self._connect()
            await mailbox.connect()
            self._mailbox = mailbox
        return self._mailbox

    async def reset(self) -> None:
        """Drop the connection (after an error); the next poll reconnects."""
        mailbox, self._mailbox = self._mailbox, None
        if mailbox is not None:
            await mailbox.close()
