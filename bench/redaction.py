"""Secret redaction and lookalike domains: recall, false positives, time per email.

    .venv/bin/python -m bench.redaction [--repeat 5]

- Recall on tests/corpus/secrets/positives.jsonl: a case counts when exactly its kinds are
  found and none of its secret strings survives redaction; by kind and by language.
- False positives (emails with any finding) on three sets that contain no secret: the shipped
  classifier corpus models/training/*.jsonl (every split, held-out included; used only to
  measure, and to pick the run length and the Chinese rules, as the bip39 docstring says),
  tests/corpus/secrets/negatives.jsonl, and the hand-written .eml corpus tests/corpus/mail
  (parsed with core.parse; never looked at while writing the detectors). Lookalike domains are
  counted on the same sets against six exchange domains, none of which they legitimately use.
- Lookalike detection on tests/corpus/phishing/cases.jsonl.
- Time per email (subject + body, redact_message and find_lookalikes), mean and p99 over every
  email of all sets, each timed `--repeat` times after a warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

from mailbot.core.parse import parse
from mailbot.core.phishing import find_lookalikes
from mailbot.core.secrets import redact_message

ROOT = Path(__file__).resolve().parent.parent
SECRETS = ROOT / "tests" / "corpus" / "secrets"
OFFICIAL = ("upbit.com", "bithumb.com", "binance.com", "okx.com", "coinone.co.kr", "korbit.co.kr")


@dataclass(frozen=True)
class Mail:
    source: str
    subject: str
    text: str


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def clean_sets() -> dict[str, list[Mail]]:
    """Mail that contains no secret and no lookalike, by set."""
    sets: dict[str, list[Mail]] = {}
    for path in sorted((ROOT / "models" / "training").glob("*.jsonl")):
        rows = read_jsonl(path)
        sets[f"training/{path.name}"] = [
            Mail(path.name, str(r.get("subject", "")), str(r["text"])) for r in rows
        ]
    negatives = read_jsonl(SECRETS / "negatives.jsonl")
    sets["secrets/negatives.jsonl"] = [
        Mail(str(r["id"]), str(r["subject"]), str(r["text"])) for r in negatives
    ]
    mail = []
    for path in sorted((ROOT / "tests" / "corpus" / "mail").glob("*.eml")):
        parsed = parse(path.read_bytes())
        mail.append(Mail(path.name, parsed.subject, parsed.text))
    sets["mail/*.eml"] = mail
    return sets


def recall(cases: Sequence[dict[str, object]]) -> tuple[list[list[object]], list[str]]:
    hit: dict[str, list[bool]] = defaultdict(list)
    missed = []
    for case in cases:
        message = redact_message(str(case["subject"]), str(case["text"]))
        kinds = {str(k) for k in case["kinds"]}  # type: ignore[attr-defined]
        secrets = [str(s) for s in case["secrets"]]  # type: ignore[attr-defined]
        ok = {k.value for k in message.kinds} == kinds and not any(
            s in message.subject + message.body for s in secrets
        )
        for key in ("all", f"kind {'+'.join(sorted(kinds))}", f"language {case['language']}"):
            hit[key].append(ok)
        if not ok:
            missed.append(str(case["id"]))
    rows: list[list[object]] = [
        [key, len(v), sum(v), f"{100 * sum(v) / len(v):.1f} %"] for key, v in sorted(hit.items())
    ]
    return rows, missed


def false_positives(sets: dict[str, list[Mail]]) -> tuple[list[list[object]], list[str]]:
    rows: list[list[object]] = []
    examples = []
    for name, mails in sets.items():
        secret = phishing = 0
        for mail in mails:
            message = redact_message(mail.subject, mail.text)
            if message.kinds:
                secret += 1
                whys = [f.why for f in (*message.subject_findings, *message.body_findings)]
                examples.append(f"{name} {mail.source}: {', '.join(whys)}")
            lookalikes = find_lookalikes(f"{mail.subject}\n{mail.text}", OFFICIAL)
            if lookalikes:
                phishing += 1
                examples.extend(f"{name} {mail.source}: {x.why}" for x in lookalikes)
        n = len(mails)
        rows.append([name, n, secret, f"{100 * secret / n:.2f} %", phishing])
    return rows, examples


def phishing_scores() -> dict[str, float]:
    cases = read_jsonl(ROOT / "tests" / "corpus" / "phishing" / "cases.jsonl")
    expected = found = right = false = clean_cases = clean_quiet = 0
    for case in cases:
        got = find_lookalikes(
            str(case["text"]),
            [str(o) for o in case["official"]],  # type: ignore[attr-defined]
            [str(s) for s in case["senders"]],  # type: ignore[attr-defined]
        )
        wanted = {(e["host"], e["imitates"]) for e in case["expected"]}  # type: ignore[attr-defined]
        pairs = {(x.host, x.imitates) for x in got}
        expected += len(wanted)
        found += len(pairs)
        right += len(pairs & wanted)
        false += len(pairs - wanted)
        if not wanted:
            clean_cases += 1
            clean_quiet += not pairs
    return {
        "cases": len(cases),
        "lookalikes": expected,
        "recall": right / expected,
        "false lookalikes": false,
        "clean cases with nothing flagged": clean_quiet / clean_cases,
    }


def timings(mails: Sequence[Mail], repeat: int) -> dict[str, float]:
    def both(mail: Mail) -> None:
        redact_message(mail.subject, mail.text)
        find_lookalikes(f"{mail.subject}\n{mail.text}", OFFICIAL)

    def secrets_only(mail: Mail) -> None:
        redact_message(mail.subject, mail.text)

    out: dict[str, float] = {}
    for name, work in (("redact + lookalikes", both), ("redact only", secrets_only)):
        samples = measure(work, mails, repeat)
        out[f"{name}: mean ms"] = statistics.fmean(samples)
        out[f"{name}: p99 ms"] = samples[int(0.99 * (len(samples) - 1))]
        out[f"{name}: max ms"] = samples[-1]
    out["mean email size (characters)"] = statistics.fmean(
        len(m.subject) + len(m.text) for m in mails
    )
    return out


def measure(work: Callable[[Mail], None], mails: Sequence[Mail], repeat: int) -> list[float]:
    for mail in mails[:50]:
        work(mail)  # loads the word lists and the confusables table
    samples = []
    for _ in range(repeat):
        for mail in mails:
            start = time.perf_counter()
            work(mail)
            samples.append((time.perf_counter() - start) * 1000)
    return sorted(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    positives = read_jsonl(SECRETS / "positives.jsonl")
    recall_rows, missed = recall(positives)
    sets = clean_sets()
    fp_rows, fp_examples = false_positives(sets)
    training = [r for r in fp_rows if str(r[0]).startswith("training/")]
    n_training = sum(int(str(r[1])) for r in training)
    fp_training = sum(int(str(r[2])) for r in training)
    fp_rows.append(
        [
            "training, all splits",
            n_training,
            fp_training,
            f"{100 * fp_training / n_training:.2f} %",
            sum(int(str(r[4])) for r in training),
        ]
    )
    phishing = phishing_scores()
    positives_as_mail = [Mail(str(c["id"]), str(c["subject"]), str(c["text"])) for c in positives]
    all_mail = [m for mails in sets.values() for m in mails] + positives_as_mail
    speed = timings(all_mail, args.repeat)

    print(f"Recall on {len(positives)} positives (exact kinds, no secret left)")
    print(tabulate(recall_rows, headers=["set", "cases", "found", "recall"]))
    print(f"missed: {missed or 'none'}\n")
    print("False positives (emails with any finding)")
    print(tabulate(fp_rows, headers=["set", "emails", "with a secret", "rate", "with a lookalike"]))
    for example in fp_examples:
        print(f"  {example}")
    print("\nLookalike domains (tests/corpus/phishing/cases.jsonl)")
    print(tabulate([[k, round(v, 3)] for k, v in phishing.items()]))
    print(f"\nTime per email over {len(all_mail)} emails x {args.repeat}")
    print(tabulate([[k, round(v, 3)] for k, v in speed.items()]))

    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    result = {
        "recall": recall_rows,
        "missed": missed,
        "false_positives": fp_rows,
        "false_positive_examples": fp_examples,
        "phishing": phishing,
        "time": speed,
    }
    (out / "secrets.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
