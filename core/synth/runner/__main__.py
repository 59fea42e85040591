"""``python -m core.synth.runner WORKSPACE RUN_ID``: execute or resume a run in the foreground."""

from core.synth.runner import main

if __name__ == "__main__":
    raise SystemExit(main())
