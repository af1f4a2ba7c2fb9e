"""The graph API and superstep executor; persistence through the event log."""
