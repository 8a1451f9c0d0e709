"""nn.Modules (parameters + time loop) and one frozen config dataclass per model."""
