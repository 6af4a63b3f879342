"""Print the egress audit: every request that left this machine, with the payload exactly as sent.

    python -m rag.egress [--chat ID] [--since 2026-12-07T10:00 | 2h | 3d] [--json]

Read-only; uses the same settings (AUDIT_DIR, INDEX_DIR) as the app, so it reads the app's log.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from rag.config import Settings
from rag.llm.egress_audit import EgressAudit

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def since(value: str) -> datetime:
    """An ISO time (UTC when no zone is given) or a span back from now: 30m, 2h, 7d."""
    relative = _RELATIVE.match(value.strip())
    if relative:
        return datetime.now(UTC) - timedelta(**{_UNITS[relative[2]]: float(relative[1])})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a time: {value!r} (use 2026-12-07T10:00, 30m, 2h or 7d)") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def line(record: dict[str, Any]) -> str:
    """One request in a line: when, which chat, where to, how much, and how it ended."""
    outcome = record.get("outcome", {})
    tokens = outcome.get("tokens")
    used = f" {tokens['prompt']}+{tokens['completion']} tokens" if tokens else ""
    error = f" ({outcome['error']})" if outcome.get("error") else ""
    messages = len(record.get("payload", {}).get("messages", []))
    return (
        f"{record['time']}  chat={record.get('chat') or '-'}  {record['backend']} {record['model']}  "
        f"{record['endpoint']}  {record['bytes']} bytes, {messages} message(s)  "
        f"-> {outcome.get('status', 'no outcome')}{used}{error}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.egress", description=__doc__.splitlines()[0])
    parser.add_argument("--chat", help="only this chat's requests (the id shown under an answer)")
    parser.add_argument("--since", type=since, help="only requests from this time on: ISO time, or 30m / 2h / 7d")
    parser.add_argument("--json", action="store_true", help="a JSON list, one object per request with its payload")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    records = EgressAudit(settings.audit_dir).records(args.chat, args.since)
    if args.json:
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2)
        print()
    elif not records:
        print(f"No request has left this machine (log: {settings.audit_dir})")
    else:
        print("\n".join(line(record) for record in records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
