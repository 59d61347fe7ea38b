"""Expert-data collection, distillation and import."""
