"""``python -m mmrole ...`` = ``mmrole ...``, for launchers that run a module (e.g. accelerate):

    accelerate launch --config_file "$(mmrole train accelerate-config zero3)" -m mmrole train sft \\
        --model Qwen/Qwen2-VL-7B-Instruct --data data/train/train_85k.json --output-dir runs/mrpa

The package's entry point sits at the top, beside the CLI it runs, so no package below it
(``mmrole.train`` among them) imports the CLI.
"""

from __future__ import annotations

from mmrole.cli import main

if __name__ == "__main__":
    main()
