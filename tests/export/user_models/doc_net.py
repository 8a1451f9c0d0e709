"""A network as Norse's documentation builds one: two LIF layers with per-neuron time constants, a
recurrent LIF layer and a leaky-integrator read-out; ``build`` returns it with fixed weights."""
import norse.torch as snn
import torch

N_IN, N1, N2, N3, N_OUT = 10, 32, 24, 16, 5


def build():
    torch.manual_seed(0)
    p1 = snn.LIFParameters(tau_syn_inv=torch.linspace(150.0, 250.0, N1), tau_mem_inv=torch.linspace(80.0, 120.0, N1),
                           v_th=torch.tensor(0.3))
    p2 = snn.LIFParameters(tau_syn_inv=torch.full((N2,), 200.0), tau_mem_inv=torch.linspace(60.0, 140.0, N2),
                           v_th=torch.tensor(0.3))
    net = snn.SequentialState(
        torch.nn.Linear(N_IN, N1), snn.LIFCell(p1),
        torch.nn.Linear(N1, N2), snn.LIFCell(p2),
        snn.LIFRecurrentCell(N2, N3, p=snn.LIFParameters(v_th=torch.tensor(0.3))),
        torch.nn.Linear(N3, N_OUT), snn.LICell(),
    )
    with torch.no_grad():
        for m in net:
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(3.0)
    return net


def looped():
    """The same weights in Norse's time-looped modules (input [T, B, N])."""
    cells = build()
    net = snn.SequentialState(
        cells[0], snn.LIF(cells[1].p), cells[2], snn.LIF(cells[3].p),
        snn.LIFRecurrent(N2, N3, p=cells[4].p, input_weights=cells[4].input_weights,
                         recurrent_weights=cells[4].recurrent_weights),
        cells[5], snn.LI(),
    )
    return net


def plain():
    """The same cells in a plain torch.nn.Sequential."""
    return torch.nn.Sequential(*build())


def with_conv():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), snn.LIFCell())


def box_subtract():
    from norse.torch.functional.reset import reset_subtract

    return snn.SequentialState(torch.nn.Linear(4, 6),
                               snn.LIFBoxCell(snn.LIFBoxParameters(v_th=torch.tensor(0.2), reset_method=reset_subtract)))
