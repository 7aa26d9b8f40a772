"""Status by email against the real Dovecot and SMTP receiver, through `mailbot run`:
a Chinese customer replies "状态" and gets where the case stands, in Chinese."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from pytest import MonkeyPatch

from mailbot.testing.servers import Dovecot, SmtpReceiver
from tests.conftest import write_config
from tests.integration.test_agents import by_customer, cli


def chinese_request() -> bytes:
    msg = EmailMessage()
    msg["From"] = "王先生 <wang@customer.test>"
    msg["To"] = "support@example.test"
    msg["Subject"] = "充值USDT一直没有到账"
    msg["Message-ID"] = "<status-1@customer.test>"
    msg.set_content(
        "您好，我昨天从另一个平台充值了500 USDT（TRC20网络），区块链上已经确认了，"
        "但是我的账户里一直没有到账。请帮我查一下，谢谢。"
    )
    return msg.as_bytes()


def reply(ack: bytes, text: str, n: int) -> bytes:
    parsed = message_from_bytes(ack, policy=policy.default)
    msg = EmailMessage()
    msg["From"] = "王先生 <wang@customer.test>"
    msg["To"] = "support@example.test"
    msg["Subject"] = "回复：" + str(parsed["Subject"])
    msg["Message-ID"] = f"<status-reply-{n}@customer.test>"
    msg["In-Reply-To"] = str(parsed["Message-ID"])
    msg.set_content(text)
    return msg.as_bytes()


def test_a_customer_who_writes_status_gets_the_state_of_the_case(
    tmp_path: Path, dovecot: Dovecot, smtp_receiver: SmtpReceiver, monkeypatch: MonkeyPatch
) -> None:
    monkeypatch.setenv("MAILBOT_IMAP_PASSWORD", dovecot.password)
    config = write_config(tmp_path, dovecot, smtp_receiver)
    dovecot.append(chinese_request())
    cli(config, "run", "--once")
    [ack] = smtp_receiver.wait_for(1)
    ticket = by_customer(config)["wang@customer.test"]
    assert ticket["language"] == "zh"

    dovecot.append(reply(ack.data, "状态", 1))
    cli(config, "run", "--once")
    answer = smtp_receiver.wait_for(2)[1]
    parsed = message_from_bytes(answer.data, policy=policy.default)
    assert answer.rcpt_tos == ["wang@customer.test"]
    assert parsed["In-Reply-To"] == "<status-reply-1@customer.test>"
    assert "处理进度" in str(parsed["Subject"]) and ticket["ref"] in str(parsed["Subject"])
    body = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "正在由我们的团队处理" in body and ticket["ref"] in body

    after = by_customer(config)["wang@customer.test"]
    assert after["ref"] == ticket["ref"] and after["status"] == "open"  # not a new request
    assert len(by_customer(config)) == 1
    shown = cli(config, "tickets", "show", ticket["ref"])
    assert "status_request" in shown
