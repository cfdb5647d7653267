"""The synthetic institution: a contract folder that behaves like the report's population and
knows its own truth (``_truth/``). See docs/synthetic.md.

Use :func:`generate` (simulate, then write); nothing heavy is imported until it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from earlywarn.synthetic.config import GeneratorConfig


def generate(config: GeneratorConfig, out: Path, *, force: bool = False) -> dict[str, int]:
    """Generate the institution ``config`` describes into ``out``; return rows per table."""
    from earlywarn.synthetic.simulate import simulate
    from earlywarn.synthetic.write import check_output_folder, write_folder

    check_output_folder(out, force=force)
    return write_folder(simulate(config), out, force=force)
