"""``neuro-av doctor [--json]``: versions and live checks of the installed stack."""
from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the installed stack (Norse, NIR, Lava float/fixed, netx, ONNX)",
        description="Print library versions and run a live check of each link of the stack. "
        "Exit status 1 when a required check fails.",
        epilog="example: neuro-av doctor --json > doctor.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(handler=run)


def run(args) -> int:
    from neuro_av.doctor import doctor_report

    report = doctor_report()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print("versions:")
        for name, version in report["versions"].items():
            print(f"  {name:<12} {version or 'NOT INSTALLED'}")
        t = report["torch"]
        print(f"  {'cuda':<12} build {t['torch_cuda_build'] or 'cpu-only'}, available: {t['cuda_available']}")
        print("checks:")
        for c in report["checks"]:
            first_line = c["detail"].splitlines()[0] if c["detail"] else ""
            print(f"  {c['status']:<6} {c['name']:<18} {c['seconds']:6.2f} s  {first_line}")
        print("doctor: all required checks ok" if report["ok"] else "doctor: a required check FAILED")
    return 0 if report["ok"] else 1
