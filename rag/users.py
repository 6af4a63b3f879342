"""`python -m rag.users add NAME [--file users.txt]`: add or replace a login for the chat app."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from rag.web.auth import hash_password, load_users


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.users", description="Manage chat app logins.")
    parser.add_argument("action", choices=("add",))
    parser.add_argument("name")
    parser.add_argument("--file", type=Path, default=Path("users.txt"))
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    args = parser.parse_args(argv)
    if ":" in args.name or not args.name.strip():
        parser.error("a user name cannot be empty or contain ':'")
    password = (
        sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass(f"Password for {args.name}: ")
    )
    if len(password) < 8:
        print("error: use a password of at least 8 characters", file=sys.stderr)
        return 2
    users = load_users(args.file) if args.file.exists() else {}
    users[args.name] = hash_password(password)
    args.file.write_text("".join(f"{name}:{encoded}\n" for name, encoded in users.items()), encoding="utf-8")
    args.file.chmod(0o600)
    print(f"{args.name} can now log in (users in {args.file}); start the app with AUTH_USERS_FILE={args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
