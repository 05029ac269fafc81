"""`links add|list|revoke`: shared links, read-only tokens of their own for one site's
dashboard (functions/core/sites.py, scope `link`). A new link is printed once, as the
dashboard address to hand out: the token rides in the fragment (`#token=`), which browsers
never send to a server, and the dashboard moves it out of the address bar at once."""

from __future__ import annotations

import argparse

import msgspec

from functions.admin.command import Parser, Result
from functions.admin.sites import key_rows, sites_connection
from functions.core import sites
from functions.core.config import Settings

_ONCE = "store the link now: it cannot be shown again"


def register(groups: argparse._SubParsersAction[Parser], common: Parser) -> None:
    group = groups.add_parser("links", help="add, list and revoke shared read-only links")
    commands = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    adding = commands.add_parser(
        "add",
        parents=[common],
        help="a new shared link to one site's dashboard, printed once",
        description="A shared link reads the site's reports (not one person's activity)"
        " and nothing else; revoke it on its own with `links revoke ID`.",
    )
    adding.add_argument("--site", required=True, metavar="NAME")
    adding.add_argument("--label", metavar="TEXT", help="whom the link is for (1-200 chars)")
    adding.add_argument(
        "--url",
        default="",
        metavar="URL",
        help="the dashboard's address (the gateway's), put in front of the printed link",
    )
    adding.set_defaults(handler=add_link)
    listing = commands.add_parser("list", parents=[common], help="every link, revoked or not")
    listing.add_argument("--site", metavar="NAME", help="only this site's links")
    listing.set_defaults(handler=list_links)
    revoking = commands.add_parser(
        "revoke",
        parents=[common],
        help="revoke a link (the gateway refuses it within its reload interval)",
    )
    revoking.add_argument("key_id", type=int, metavar="ID")
    revoking.set_defaults(handler=revoke_link)


async def add_link(arguments: argparse.Namespace, settings: Settings) -> Result:
    async with sites_connection(settings) as conn:
        key = await sites.add_key(conn, arguments.site, "link", arguments.label)
    link = f"{arguments.url.rstrip('/')}/#token={key.secret}"
    text = f"shared link {key.id} (site {key.site}): {link}\n{_ONCE}"
    return Result(text, {**msgspec.to_builtins(key), "link": link})


async def list_links(arguments: argparse.Namespace, settings: Settings) -> Result:
    async with sites_connection(settings) as conn:
        keys = await sites.list_keys(conn)
    links = [k for k in keys if k.scope == "link" and arguments.site in (None, k.site)]
    return Result(key_rows(links, label=True), {"links": msgspec.to_builtins(links)})


async def revoke_link(arguments: argparse.Namespace, settings: Settings) -> Result:
    async with sites_connection(settings) as conn:
        revoked = await sites.revoke_key(conn, arguments.key_id, "link")
    key_id = arguments.key_id
    text = f"revoked link {key_id}" if revoked else f"link {key_id} was revoked already"
    return Result(text, {"id": key_id, "revoked": revoked})
