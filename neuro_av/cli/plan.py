"""``neuro-av plan GRAPH.nir|RUN``: the deployment plan — cores, chips, the host-chip link — without
running anything."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from neuro_av.data.spike_input import check_dt
from neuro_av.errors import ConfigError
from neuro_av.export.hardware import BUILTIN

HARDWARE_HELP = (f"a hardware profile for placement and energy (repeatable): a built-in name ({', '.join(BUILTIN)}; "
                 "these are always included) or FILE.json with figures and energies, each with its source "
                 "(see export/hardware/)")


def register(sub) -> None:
    p = sub.add_parser(
        "plan", help="place a spiking branch on Loihi cores and size the host-chip link (runs nothing)",
        description=f"Prints, per hardware profile ({', '.join(BUILTIN)}, and any --hardware FILE.json), whether the network "
        "fits, on how many cores and chips, each population's use of every per-core limit (and the one that binds "
        "it, if any), and what crosses the host-chip link per step and per clip, with the share of the "
        "dynamic-threshold streams. A RUN is read from "
        "RUN/export when exported, else from its checkpoint; a NIR graph needs its dt (metadata or --dt).",
        epilog="examples:\n  neuro-av plan demo/runs/stft\n  neuro-av plan graph.nir --dt 1e-4 --steps 256\n"
        "  neuro-av plan runs/mdft --hardware my_chip.json --json",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", help="a `neuro-av train` run folder or a NIR graph file")
    p.add_argument("--hardware", action="append", default=[], metavar="NAME|FILE", help=HARDWARE_HELP)
    p.add_argument("--dt", type=float, help="a NIR graph's time step in seconds (default: its metadata)")
    p.add_argument("--steps", type=int, help="a NIR graph's steps per clip (for per-clip link figures)")
    p.add_argument("--spike-input", action="store_true",
                   help="a NIR graph's inputs are binary spikes (default: as neuro-av's export recorded them in "
                   "the graph's metadata, else graded values)")
    p.add_argument("--json", action="store_true", help="print the whole plan as JSON")
    p.set_defaults(handler=run_plan)


def load_hardware(specs: list[str]) -> tuple:
    from neuro_av.export.hardware import load_profiles

    return load_profiles(specs)


def run_plan(args) -> int:
    from neuro_av import console

    from neuro_av.export.deployment import DEFAULT_TARGETS, deployment_plan
    from neuro_av.export.deployment_text import plural, summary
    from neuro_av.export.lava.plan import plan_from_nir
    from neuro_av.export.nir_graph import recorded_spike_inputs

    if args.steps is not None and args.steps < 1:
        raise ConfigError(f"--steps must be at least 1, got {args.steps}")
    check_dt(args.dt)
    hardware = load_hardware(args.hardware)
    source = Path(args.source)
    warnings = []
    if source.is_dir():
        graph, dt, steps = _from_run(source)
        warnings = export_warnings(source)
    else:
        from neuro_av.export.nir_graph import read_graph

        graph, dt = read_graph(source, args.dt)
        steps = args.steps
    plan = plan_from_nir(graph, dt)
    dep = deployment_plan(plan, graph, steps, targets=(*DEFAULT_TARGETS, *hardware),
                          spike_inputs=tuple(plan.inputs) if args.spike_input else recorded_spike_inputs(graph) or ())
    if args.json:
        print(json.dumps({**dep, "export_warnings": warnings} if source.is_dir() else dep, indent=1, default=float))
    else:
        net = dep["network"]
        for line in console.wrap(f"deployment plan of {source}: {plural(net['neurons'], 'neuron')} in "
                                  f"{plural(net['populations'], 'population')}, {plural(net['synapses'], 'synapse')}",
                                  100, subsequent_indent="  "):
            print(line)
        for line in summary(dep, populations=True, width=98):
            print(f"  {line}")
        for w in warnings:
            print(console.fill(f"warning (from the export): {w}", 100, subsequent_indent="  "))
    return 0


def export_warnings(run_dir: Path) -> list[str]:
    """The export's warnings about what its check clips showed (layers that never fired or always did,
    values clipped or saturated), so a plan is not read without them; none when the run has no export."""
    from neuro_av.export.deploy import MANIFEST
    from neuro_av.io import read_json
    from neuro_av.run import EXPORT_DIR

    path = run_dir / EXPORT_DIR / MANIFEST
    if not path.is_file():
        return []
    manifest = read_json(path, "export manifest")
    saturation = ((manifest.get("quantisation") or {}).get("saturation") or {}).get("warnings", [])
    return [*(manifest.get("fidelity") or {}).get("warnings", []), *saturation]


def _from_run(run_dir: Path):
    from neuro_av.export.deploy import NIR_FILE, branch_graph
    from neuro_av.export.nir_graph import read_graph
    from neuro_av.run import load_run

    run = load_run(run_dir)
    clips = run.data.protocol_set("test")[0]
    steps = getattr(run.model.cfg, "time_steps", 0) or int(clips.audio.shape[1])
    if (run.export_dir / NIR_FILE).is_file():
        graph, dt = read_graph(run.export_dir / NIR_FILE)
    else:
        graph = branch_graph(run)
        dt = float(graph.metadata["dt_s"])
    return graph, dt, steps
