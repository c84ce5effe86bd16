"""Task heads on the frozen encoder: one package per task (streamflow, soil, landslide), each shaped alike."""
