"""``python -m autodiff_bench`` is the ``adbench`` command."""

from autodiff_bench.cli import main

if __name__ == "__main__":
    main()
