"""Co-simulation of the deployed hybrid (imports as ``neuro_av.sim``): backends, counters, energy
model and reports. Not built yet; see README, "Status"."""
