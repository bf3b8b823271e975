"""``minirq dashboard``: serve the Flask dashboard (the ``dashboard`` extra)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import click

from .context import CliContext, pass_cli
from .options import connection_options


@click.command()
@connection_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    envvar="PORT",
    default=9181,
    help="Port to listen on (default: $PORT, else 9181).",
)
@click.option("--url-prefix", default="", help="Serve under this path, such as /rq.")
@click.option(
    "--username",
    envvar="MINIRQ_DASHBOARD_USERNAME",
    default="admin",
    show_default=True,
    help="Login name when a password is set.",
)
@click.option(
    "--password",
    envvar="MINIRQ_DASHBOARD_PASSWORD",
    default=None,
    help="Require HTTP Basic login with this password (default: $MINIRQ_DASHBOARD_PASSWORD).",
)
@click.option("--read-only", is_flag=True, help="Show everything, change nothing.")
@click.option(
    "--no-auth",
    is_flag=True,
    help="Serve a non-loopback address without a password (something else guards it).",
)
@click.option(
    "--trusted-host",
    "trusted_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests for this Host name (besides loopback and --host); repeatable. "
    "Also $MINIRQ_DASHBOARD_TRUSTED_HOSTS (comma list).",
)
@pass_cli
def dashboard(
    cli: CliContext,
    url: str | None,
    config_module: str | None,
    host: str,
    port: int,
    url_prefix: str,
    username: str,
    password: str | None,
    read_only: bool,
    no_auth: bool,
    trusted_hosts: Sequence[str],
) -> None:
    """Serve the web dashboard (needs the `dashboard` extra: pip install 'minirq[dashboard]')."""
    try:
        # The dashboard is an optional extra: importing it at the top would make every
        # command need Flask.
        from werkzeug.serving import make_server

        from minirq_dashboard.app import config_from_env, create_app
    except ImportError as exc:
        raise click.ClickException(
            f"the dashboard needs Flask ({exc}); install it with: pip install 'minirq[dashboard]'"
        ) from None
    if not password and not no_auth and not is_loopback(host):
        raise click.UsageError(
            f"refusing to serve the dashboard on {host} without a password: give --password "
            "(or MINIRQ_DASHBOARD_PASSWORD), or --no-auth if something else guards it"
        )
    cli.load(url, config_module)
    config = config_from_env()
    config.update(
        MINIRQ_REDIS_CONNECTION=cli.connection,
        MINIRQ_PREFIX=cli.prefix,
        MINIRQ_DASHBOARD_URL_PREFIX=url_prefix,
        MINIRQ_DASHBOARD_USERNAME=username,
        MINIRQ_DASHBOARD_PASSWORD=password or "",
        MINIRQ_DASHBOARD_READ_ONLY=read_only,
        MINIRQ_DASHBOARD_TRUSTED_HOSTS=[
            host,
            *trusted_hosts,
            *config.get("MINIRQ_DASHBOARD_TRUSTED_HOSTS", "").split(","),
        ],
    )
    app = create_app(config)
    server = make_server(host, port, app, threaded=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"minirq dashboard on http://{shown}:{server.server_port}{url_prefix.rstrip('/')}/ "
        f"(Redis {cli.shown_url}, prefix {cli.prefix}"
        f"{', read-only' if read_only else ''}{', login required' if password else ''})"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


__all__ = ["dashboard", "is_loopback"]
