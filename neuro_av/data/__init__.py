"""AV-GZSL benchmark readers, the embedded synthetic benchmark, text embeddings."""
