"""``python -m bot ...``: run the bot and operate it.

Every failure an operator can cause ends with one line on stderr and exit code 2;
tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from bot import __version__
from bot.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.services.audit.anchor import ChainHead

EXIT_OK = 0
EXIT_PROBLEM = 2


class CliError(Exception):
    """A problem to print as one line, exiting 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(EXIT_PROBLEM)


Handler = Callable[[argparse.Namespace], int]


def _settings(*, require_token: bool) -> Settings:
    try:
        return load_settings(require_token=require_token)
    except SettingsError as exc:
        raise CliError("settings are invalid: " + "; ".join(exc.problems)) from None


def log_secrets(settings: Settings) -> list[str]:
    """Every configured secret, redacted from all log lines."""
    found = [
        s.get_secret_value()
        for s in (
            settings.discord_token,
            settings.bungie_api_key,
            settings.bungie_client_secret,
            settings.sanctions_client_secret,
            settings.token_encryption_key,
        )
        if s is not None
    ]
    # During a rotation the setting holds several keys: each one alone is a secret too.
    return [*found, *settings.token_keys()]


def _setup_logs(settings: Settings) -> None:
    from bot.logs import setup_logging

    setup_logging(
        level=settings.log_level, json_lines=settings.log_format == "json",
        secrets=log_secrets(settings),
    )


def _run_async(coro: Awaitable[int]) -> int:
    async def wrapper() -> int:
        return await coro

    return asyncio.run(wrapper())


# -- commands ---------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from bot import runtime

    settings = _settings(require_token=True)
    _setup_logs(settings)
    try:
        asyncio.run(runtime.run(settings))
    except KeyboardInterrupt:
        pass
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from bot.checkup import run_checkup

    return _run_async(run_checkup(out=sys.stdout))


def cmd_migrate(args: argparse.Namespace) -> int:
    from bot.store import Database

    settings = _settings(require_token=False)

    async def go() -> int:
        db = await Database.open(settings.database_location(), migrate=False)
        try:
            applied = await db.migrate()
            version = await db.user_version()
        finally:
            await db.close()
        names = ", ".join(m.name for m in applied) or "none pending"
        print(f"database {settings.database_label()}: schema version {version} ({names})")
        return EXIT_OK

    return _run_async(go())


def cmd_sync(args: argparse.Namespace) -> int:
    import discord

    from bot.app import command_payload
    from bot.runtime import open_app

    settings = _settings(require_token=not args.dry_run)
    guild_id = args.guild if args.guild is not None else None
    guild = discord.Object(id=guild_id) if guild_id is not None else None

    async def go() -> int:
        async with open_app(settings, start_background=False, ephemeral_database=True) as bot:
            if args.dry_run:
                await bot.setup_hook()
                if guild is not None:
                    bot.tree.copy_global_to(guild=guild)
                print(json.dumps(command_payload(bot, guild), indent=2, sort_keys=True))
                return EXIT_OK
            assert settings.discord_token is not None
            try:
                await bot.login(settings.discord_token.get_secret_value())
                if guild is not None:
                    bot.tree.copy_global_to(guild=guild)
                synced = await bot.tree.sync(guild=guild)
            except discord.LoginFailure:
                raise CliError("Discord refused DISCORD_TOKEN; copy a fresh token") from None
            except discord.HTTPException as exc:
                raise CliError(f"Discord refused the sync: {exc.status} {exc.text}") from None
            where = f"server {guild_id}" if guild_id else "all servers (global; may take an hour)"
            print(f"synced {len(synced)} command(s) to {where}")
            return EXIT_OK

    return _run_async(go())


def cmd_keygen(args: argparse.Namespace) -> int:
    from bot.crypto import generate_key

    print(generate_key())
    return EXIT_OK


def cmd_rekey(args: argparse.Namespace) -> int:
    from bot.crypto import KeyError_, TokenBox, TokenDecryptError
    from bot.store import Database, Store

    settings = _settings(require_token=False)
    keys = settings.token_keys()
    if not keys:
        raise CliError("TOKEN_ENCRYPTION_KEY is not set; list the new key first, then the old "
                       "one(s), comma-separated")
    try:
        box = TokenBox(keys)
    except KeyError_ as exc:
        raise CliError(f"TOKEN_ENCRYPTION_KEY: {exc}") from None
    _require_database(settings)

    async def go() -> int:
        db = await Database.open(settings.database_location(), migrate=False)
        try:
            count = await Store(db).links.rekey(box.rotate)
        except TokenDecryptError:
            raise CliError(
                "a stored token cannot be decrypted with any key in TOKEN_ENCRYPTION_KEY; "
                "nothing was changed: add the old key after the new one and run rekey again"
            ) from None
        finally:
            await db.close()
        print(f"re-encrypted {count} stored token(s) under the first TOKEN_ENCRYPTION_KEY; "
              "the other keys can now be removed")
        return EXIT_OK

    return _run_async(go())


PG_BACKUP_HINT = (
    "on PostgreSQL (DATABASE_URL) back up with pg_dump --format=custom --file=FILE URL and "
    "restore into an empty database with pg_restore --dbname=URL FILE (README: PostgreSQL)"
)


def _require_database(settings: Settings) -> None:
    """An existing SQLite file (a PostgreSQL server answers for itself when opened)."""
    if settings.database_url is None and not settings.database_path.exists():
        raise CliError(f"no database at {settings.database_path} (DATABASE_PATH)")


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.store import Database

    settings = _settings(require_token=False)
    if settings.database_url is not None:
        raise CliError(PG_BACKUP_HINT)
    target: Path = args.path
    if target.exists() and not args.force:
        raise CliError(f"{target} already exists; choose another path or pass --force")
    _require_database(settings)

    if target.exists():
        target.unlink()

    async def go() -> int:
        db = await Database.open(settings.database_location(), migrate=False)
        try:
            await db.backup_to(target)
        finally:
            await db.close()
        print(f"backed up {settings.database_path} to {target}")
        return EXIT_OK

    return _run_async(go())


def cmd_restore(args: argparse.Namespace) -> int:
    """Put a backup in place of the database, safely: checked first, the current files
    kept aside, unfinished deliveries marked to be checked upstream before any resend."""
    import shutil
    import time

    from bot.store import Database, Store

    settings = _settings(require_token=False)
    if settings.database_url is not None:
        raise CliError(PG_BACKUP_HINT)
    source: Path = args.backup
    live = settings.database_path
    if not source.is_file():
        raise CliError(f"no backup at {source}")
    if source.resolve() == live.resolve():
        raise CliError(f"{source} is the database itself (DATABASE_PATH)")
    staging = live.with_name(live.name + ".restoring")

    async def told_before() -> list[tuple[str, float]] | None:
        """What the database being replaced already told reporters; None if unreadable."""
        if not live.exists():
            return []
        try:
            db = await Database.open(live, migrate=False)
        except Exception:  # the database a restore replaces may well be damaged
            return None
        try:
            return await Store(db).notices.told_outcomes()
        except Exception:  # a release before reporter notices existed: nothing recorded
            return []
        finally:
            await db.close()

    async def check_and_mark() -> tuple[int, int, int]:
        told = await told_before()
        db = await Database.open(staging, migrate=False)
        try:
            store = Store(db)
            problems = await db.integrity_problems()
            if problems:
                raise CliError(f"{source} is damaged ({'; '.join(problems[:3])}); nothing "
                               "was changed")
            check = await store.audit.verify()
            if not check.ok:
                raise CliError(f"{source}: audit chain broken at row {check.first_broken_id} "
                               f"({check.problem}); nothing was changed")
            marked = await store.deliveries.mark_restored(source.name)
            await db.migrate()
            if told is None:
                print("the database being replaced could not be read: reporters told since "
                      "the backup may be told their outcome again", file=sys.stderr)
            elif told:
                await store.notices.remember_told_before_restore(told)
            return marked, await store.reports.count_accepted(), check.rows_checked
        finally:
            await db.close()

    async def go() -> int:
        for leftover in _sqlite_files(staging):
            leftover.unlink()
        live.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, staging)  # the backup itself is never opened for writing
        try:
            marked, reports, audited = await check_and_mark()
        except BaseException:
            for leftover in _sqlite_files(staging):
                leftover.unlink()
            raise
        kept = ""
        if live.exists():
            aside = live.with_name(f"{live.name}.before-restore-{time.strftime('%Y%m%d-%H%M%S')}")
            for current, moved in zip(_sqlite_files(live, every=True),
                                      _sqlite_files(aside, every=True), strict=True):
                if current.exists():
                    current.rename(moved)
            kept = f"; the previous database was kept as {aside}"
        staging.rename(live)
        print(f"restored {source} to {live}: {reports} report(s), audit chain intact "
              f"({audited} row(s)){kept}")
        print(f"{marked} unfinished deliver{'y' if marked == 1 else 'ies'} will be checked "
              "with the upstream before anything is sent again")
        return EXIT_OK

    return _run_async(go())


def _sqlite_files(db: Path, *, every: bool = False) -> list[Path]:
    """The database file and its -wal/-shm companions (only those present, unless
    ``every``)."""
    found = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return found if every else [f for f in found if f.exists()]


def _write_anchor(head: ChainHead, output: Path | None) -> int:
    if output is None:
        sys.stdout.write(head.to_json())
        return EXIT_OK
    output.write_text(head.to_json(), encoding="utf-8")
    print(f"wrote the audit chain head ({head.describe()}) to {output}; keep it away from "
          "this machine and check later with `audit verify --anchor`")
    return EXIT_OK


def cmd_copy_db(args: argparse.Namespace) -> int:
    """Copy the SQLite installation at DATABASE_PATH into an empty PostgreSQL database."""
    from bot.store import Database, Store
    from bot.store.copy import copy_installation
    from bot.store.database import DatabaseError, is_postgres_url

    settings = _settings(require_token=False)
    target_url: str = args.to
    if not is_postgres_url(target_url):
        raise CliError("--to must be a postgresql://user:password@host:5432/database URL")
    if not settings.database_path.exists():
        raise CliError(f"no database at {settings.database_path} (DATABASE_PATH)")

    async def go() -> int:
        source = await Database.open(settings.database_path, migrate=False)
        try:
            if await source.pending_migrations():
                raise CliError("the SQLite database is not at the latest schema: run "
                               "`python -m bot migrate` first (with DATABASE_URL unset)")
            target = await Database.open(target_url)
            try:
                counts = await copy_installation(source, target)
                check = await Store(target).audit.verify()
            finally:
                await target.close()
        except DatabaseError as exc:
            raise CliError(str(exc)) from None
        finally:
            await source.close()
        total = sum(counts.values())
        listed = ", ".join(f"{n} {table}" for table, n in counts.items() if n)
        print(f"copied {total} row(s) into PostgreSQL ({listed or 'nothing to copy'})")
        if not check.ok:
            sys.stderr.write(f"the copy's audit chain does not verify at row "
                             f"{check.first_broken_id}: {check.problem}\n")
            return EXIT_PROBLEM
        print(f"audit chain intact on the copy: {check.rows_checked} row(s) verified; "
              "set DATABASE_URL to it and start Warden")
        return EXIT_OK

    return _run_async(go())


def cmd_audit(args: argparse.Namespace) -> int:
    from bot.services.audit.anchor import AnchorError, ChainHead, anchor_problem
    from bot.store import Database, Store

    settings = _settings(require_token=False)
    _require_database(settings)

    anchor = None
    if args.audit_command == "verify" and args.anchor is not None:
        try:
            anchor = ChainHead.read(args.anchor)
        except AnchorError as exc:
            raise CliError(str(exc)) from None

    async def go() -> int:
        db = await Database.open(settings.database_location(), migrate=False)
        store = Store(db)
        try:
            if args.audit_command in ("verify", "anchor"):
                check = await store.audit.verify()
                if not check.ok:
                    sys.stderr.write(
                        f"audit chain broken at row {check.first_broken_id}: {check.problem} "
                        f"({check.rows_checked} row(s) before it verified)\n"
                    )
                    return EXIT_PROBLEM
                head = ChainHead.of(check)
                if args.audit_command == "anchor":
                    return _write_anchor(head, args.output)
                print(f"audit chain intact: {check.rows_checked} row(s) verified; head: "
                      f"{head.describe()}")
                if anchor is not None:
                    problem = await anchor_problem(store.audit, check, anchor)
                    if problem is not None:
                        raise CliError(problem)
                    print(f"the chain still holds the head anchored on {anchor.when} "
                          f"(row {anchor.rows})")
                return EXIT_OK
            out = sys.stdout if args.output is None else args.output.open("w", encoding="utf-8")
            try:
                count = 0
                async for entry in store.audit.iterate():
                    row: dict[str, Any] = {
                        "id": entry.id,
                        "at": entry.at,
                        "guild_id": entry.guild_id,
                        "actor_id": entry.actor_id,
                        "action": entry.action,
                        "report_id": entry.report_id,
                        "details": entry.details,
                        "prev_hash": entry.prev_hash,
                        "hash": entry.hash,
                    }
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    count += 1
            finally:
                if out is not sys.stdout:
                    out.close()
            if args.output is not None:
                print(f"wrote {count} audit row(s) to {args.output}")
            return EXIT_OK
        finally:
            await db.close()

    return _run_async(go())


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def cmd_purge(args: argparse.Namespace) -> int:
    import time

    from bot.services.review.dates import iso_day
    from bot.store import Database, Store

    settings = _settings(require_token=False)
    _require_database(settings)
    days = args.older_than_days or settings.report_retention_days
    cutoff = time.time() - days * 86400.0

    async def go() -> int:
        db = await Database.open(settings.database_location(), migrate=False)
        store = Store(db)
        try:
            if args.dry_run:
                count = await store.reports.count_expired(cutoff)
                print(f"would purge the content of {count} report(s) created before "
                      f"{iso_day(cutoff)} (kept {days} days); nothing was changed")
                return EXIT_OK
            purged = await store.reports.purge_expired(cutoff)
            check = await store.audit.verify()
        finally:
            await db.close()
        print(f"purged the content of {len(purged)} report(s) created before "
              f"{iso_day(cutoff)} (kept {days} days)")
        if not check.ok:
            raise CliError(f"audit chain broken at row {check.first_broken_id}: {check.problem}; "
                           "run `python -m bot audit verify`")
        print(f"audit chain intact: {check.rows_checked} row(s) verified")
        return await _scrub_review_posts(settings)

    return _run_async(go())


async def _scrub_review_posts(settings: Settings) -> int:
    """Purged reports' review posts still show their content and re-uploaded evidence in
    Discord: edit them through the bot's REST API (no gateway connection needed)."""
    import discord

    from bot.runtime import open_app

    async with open_app(settings, start_background=False) as bot:
        review = bot.services.review_posts
        waiting = await review.purged_posts_waiting()
        if not waiting:
            return EXIT_OK
        if settings.discord_token is None:
            raise CliError(f"{waiting} review post(s) of purged reports still show their "
                           "content: set DISCORD_TOKEN and run purge again to scrub them")
        try:
            await bot.login(settings.discord_token.get_secret_value())
        except discord.LoginFailure:
            raise CliError("Discord refused DISCORD_TOKEN; the database was purged, but the "
                           "review posts were not scrubbed") from None
        except discord.HTTPException as exc:
            raise CliError(f"Discord is unreachable ({exc.status}); the database was purged, "
                           "but the review posts were not scrubbed: run purge again") from None
        scrubbed, failed = await review.scrub_purged()
        print(f"scrubbed {scrubbed} review post(s) of purged reports")
        if failed:
            raise CliError(f"{failed} review post(s) could not be edited (see /warden setup for "
                           "the reason); run purge again once Warden may edit them")
    return EXIT_OK


# -- parser -----------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bot", description="Warden, the player-report bot.")
    parser.add_argument("--version", action="version", version=f"Warden {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("run", help="start the bot (the default)")
    p.set_defaults(handler=cmd_run)

    p = sub.add_parser("check", help="validate settings, database and API credentials")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("sync", help="register the slash and context-menu commands with Discord")
    p.add_argument("--guild", type=int, metavar="ID", help="sync to one server only (instant)")
    p.add_argument(
        "--dry-run", action="store_true", help="print the JSON payload; needs no token"
    )
    p.set_defaults(handler=cmd_sync)

    p = sub.add_parser("migrate", help="apply pending database migrations")
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("keygen", help="print a new TOKEN_ENCRYPTION_KEY")
    p.set_defaults(handler=cmd_keygen)

    p = sub.add_parser(
        "rekey", help="re-encrypt every stored token under the first TOKEN_ENCRYPTION_KEY"
    )
    p.set_defaults(handler=cmd_rekey)

    p = sub.add_parser("backup", help="write a consistent copy of the live database")
    p.add_argument("path", type=Path, help="where to write the copy")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler=cmd_backup)

    p = sub.add_parser(
        "restore", help="put a backup in place of the database (stop Warden first)"
    )
    p.add_argument("backup", type=Path, help="a file written by `backup`")
    p.set_defaults(handler=cmd_restore)

    p = sub.add_parser(
        "purge", help="blank report content older than REPORT_RETENTION_DAYS (audit is kept)"
    )
    p.add_argument("--older-than-days", type=_positive_int, metavar="DAYS",
                   help="override REPORT_RETENTION_DAYS for this run")
    p.add_argument("--dry-run", action="store_true", help="only count what would be purged")
    p.set_defaults(handler=cmd_purge)

    p = sub.add_parser(
        "copy-db", help="copy the SQLite installation into an empty PostgreSQL database"
    )
    p.add_argument("--to", required=True, metavar="POSTGRESQL_URL",
                   help="postgresql://user:password@host:5432/database (empty)")
    p.set_defaults(handler=cmd_copy_db)

    p = sub.add_parser("audit", help="verify or export the tamper-evident audit trail")
    audit_sub = p.add_subparsers(dest="audit_command", metavar="ACTION", parser_class=_Parser)
    audit_sub.required = True
    verify = audit_sub.add_parser(
        "verify", help="walk the hash chain, name the first broken row, print its head")
    verify.add_argument("--anchor", type=Path, metavar="FILE",
                        help="also fail unless the chain holds the head kept in FILE")
    anchor = audit_sub.add_parser(
        "anchor", help="write the chain head (row count, last hash) to keep elsewhere")
    anchor.add_argument("--output", type=Path, help="file to write (default: stdout)")
    export = audit_sub.add_parser("export", help="write the trail as JSON Lines")
    export.add_argument("--output", type=Path, help="file to write (default: stdout)")
    p.set_defaults(handler=cmd_audit)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = getattr(args, "handler", cmd_run)
    try:
        return handler(args)
    except CliError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_PROBLEM
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a database or OS problem an operator can fix
        from bot.store import DatabaseError

        if isinstance(exc, DatabaseError | OSError):
            sys.stderr.write(f"error: {exc}\n")
            return EXIT_PROBLEM
        raise
