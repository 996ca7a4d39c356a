"""The `funnel` command line (installed as the `funnel_cli` package)."""
