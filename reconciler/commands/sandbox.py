"""``reconciler sandbox serve|snapshot``: run the AWS sandbox over HTTP, or write snapshots."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from reconciler.cli import UserError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "sandbox",
        help="run the local AWS sandbox (sms-voice, RAM, STS) or write sandbox snapshots",
        description="The sandbox emulates pinpoint-sms-voice-v2, RAM and STS. See docs/sandbox.md.",
    )
    sub = parser.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND", required=True)

    serve = sub.add_parser("serve", help="serve the sandbox on a loopback HTTP port")
    serve.add_argument(
        "--host", default="127.0.0.1", metavar="ADDRESS", help="loopback address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=4566, metavar="PORT", help="port (default 4566; 0 picks a free port)")
    serve.add_argument(
        "--state", type=Path, metavar="FILE", help="snapshot to load at start (and save to with --save-on-exit)"
    )
    serve.add_argument("--save-on-exit", action="store_true", help="save the state to --state when stopped")
    serve.add_argument(
        "--simulated-clock", action="store_true", help="use a simulated clock (waits advance it)"
    )
    serve.add_argument("--quotas", action="store_true", help="enforce AWS's default API request rates")
    serve.add_argument(
        "--quota-mode",
        choices=("throttle", "wait"),
        default="throttle",
        help="over quota: answer ThrottlingException (default) or make the request wait",
    )
    serve.add_argument(
        "--quota",
        action="append",
        default=[],
        metavar="OPERATION=RATE",
        help="override one rate in requests/second, e.g. DescribeOptedOutNumbers=5 (implies --quotas)",
    )
    serve.add_argument(
        "--latency", type=float, default=0.0, metavar="SECONDS", help="latency added to every request"
    )
    serve.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        metavar="N",
        help="run quotas and latency N times faster, keeping their ratios",
    )
    serve.add_argument(
        "--fault-throttle", type=float, default=0.0, metavar="RATE", help="share of requests throttled"
    )
    serve.add_argument(
        "--fault-error", type=float, default=0.0, metavar="RATE", help="share answered with HTTP 500"
    )
    serve.add_argument(
        "--fault-drop", type=float, default=0.0, metavar="RATE", help="share whose connection drops"
    )
    serve.add_argument(
        "--fault-drop-after",
        type=float,
        default=0.0,
        metavar="RATE",
        help="share applied, then the connection drops before the response",
    )
    serve.add_argument("--fault-seed", type=int, default=0, metavar="N", help="seed of the fault draws (default 0)")
    serve.add_argument(
        "--association-delay",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long RAM associations stay ASSOCIATING/DISASSOCIATING (default 0)",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request line to stderr")
    serve.set_defaults(func=run_serve)

    snap = sub.add_parser("snapshot", help="write a generated sandbox snapshot")
    snap.add_argument(
        "--generate", choices=("large", "example"), required=True, help="which synthetic account"
    )
    snap.add_argument("--out", type=Path, required=True, metavar="FILE", help="snapshot file to write")
    snap.add_argument("--account", metavar="ID", help="account id of the generated account")
    snap.add_argument("--region", metavar="REGION", help="region (default: the policy's target region, else us-east-1)")
    snap.add_argument("--seed", type=int, default=None, metavar="N", help="random seed")
    snap.add_argument(
        "--opt-out-numbers", type=int, default=None, metavar="N", help="size of the large opt-out list (large only)"
    )
    snap.add_argument(
        "--config",
        type=Path,
        default=Path("config"),
        metavar="DIR",
        help="the policy directory whose resources the example account holds (default: config, if present)",
    )
    snap.set_defaults(func=run_snapshot)


def _parse_rates(values: list[str]) -> dict[str, float]:
    rates: dict[str, float] = {}
    for value in values:
        name, sep, rate = value.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            rates[name] = float(rate)
        except ValueError:
            raise UserError(
                f"--quota {value!r} is not OPERATION=RATE",
                hint="for example --quota DescribeOptedOutNumbers=5",
            ) from None
        if rates[name] <= 0:
            raise UserError(f"--quota {value!r}: the rate must be positive")
    return rates


def build_sandbox(args: argparse.Namespace) -> Any:
    from reconciler.sandbox import Faults, Latency, Quotas, Sandbox
    from reconciler.sandbox.handlers.ram import ASSOCIATION_DELAY_SETTING
    from reconciler.sandbox.snapshot import SnapshotError, load
    from reconciler.sandbox.state import Clock, World

    if args.time_scale <= 0:
        raise UserError("--time-scale must be positive")
    if args.latency < 0:
        raise UserError("--latency must not be negative")
    clock = Clock(simulated=True) if args.simulated_clock else None
    world: World
    if args.state is not None and args.state.exists():
        try:
            world = load(args.state, clock=clock)
        except SnapshotError as error:
            raise UserError(
                str(error),
                hint="generate one with 'reconciler sandbox snapshot --generate example --out FILE'",
            ) from None
    elif args.state is not None and not args.save_on_exit:
        raise UserError(
            f"{args.state}: no such snapshot", hint="add --save-on-exit to start empty and create it"
        )
    else:
        world = World(clock)
    if args.association_delay is not None:
        if args.association_delay < 0:
            raise UserError("--association-delay must not be negative")
        world.settings[ASSOCIATION_DELAY_SETTING] = args.association_delay
    rates = _parse_rates(args.quota)
    quotas = Quotas(rates=rates, mode=args.quota_mode) if (args.quotas or rates) else None
    try:
        faults = Faults(
            args.fault_throttle, args.fault_error, args.fault_drop, args.fault_drop_after, args.fault_seed
        )
    except ValueError as error:
        raise UserError(f"fault rates: {error}") from None
    has_faults = any((args.fault_throttle, args.fault_error, args.fault_drop, args.fault_drop_after))
    return Sandbox(
        world,
        quotas=quotas,
        faults=faults if has_faults else None,
        latency=Latency(args.latency) if args.latency else None,
        time_scale=args.time_scale,
    )


def run_serve(args: argparse.Namespace) -> int:
    from reconciler.sandbox.server import SandboxHTTPServer, is_loopback
    from reconciler.sandbox.snapshot import save

    if not is_loopback(args.host):
        raise UserError(
            f"--host {args.host}: the sandbox listens on loopback addresses only", hint="use 127.0.0.1 or ::1"
        )
    if args.save_on_exit and args.state is None:
        raise UserError("--save-on-exit needs --state FILE")
    sandbox = build_sandbox(args)
    try:
        server = SandboxHTTPServer(sandbox.gateway, args.host, args.port, verbose=args.verbose)
    except OSError as error:
        raise UserError(
            f"cannot listen on {args.host}:{args.port}: {error.strerror or error}",
            hint="pick another --port, or 0 for any free port",
        ) from None
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    thread = threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True)
    thread.start()
    print(f"Sandbox listening on {server.endpoint}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        server.shutdown()
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if args.save_on_exit:
        save(sandbox.world, args.state)
        print(f"Sandbox state saved to {args.state}", flush=True)
    print("Sandbox stopped", file=sys.stderr, flush=True)
    return 0


def run_snapshot(args: argparse.Namespace) -> int:
    from reconciler.sandbox.generator import generate
    from reconciler.sandbox.snapshot import save
    from reconciler.sandbox.state import World

    options: dict[str, Any] = {"region": args.region} if args.region else {}
    if args.account:
        if not (len(args.account) == 12 and args.account.isdigit()):
            raise UserError(f"--account {args.account!r} is not a 12-digit account id")
        options["account"] = args.account
    if args.seed is not None:
        options["seed"] = args.seed
    if args.opt_out_numbers is not None:
        if args.generate != "large":
            raise UserError("--opt-out-numbers applies to --generate large only")
        if args.opt_out_numbers < 0:
            raise UserError("--opt-out-numbers must not be negative")
        options["opt_out_numbers"] = args.opt_out_numbers
    if args.generate == "example" and args.config.is_dir():
        options["config_dir"] = args.config
    world = World()
    try:
        generate(args.generate, world, **options)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise UserError(
            f"cannot build the {args.generate} account: {error}",
            hint="check the policy with 'reconciler validate'",
        ) from None
    save(world, args.out)
    source = f" from the policy in {args.config}" if "config_dir" in options else ""
    print(f"Wrote {args.generate} snapshot{source} to {args.out}")
    return 0
