"""``python -m mmrole.train sft ...`` = ``mmrole train sft ...``, for launchers that run a module.

    accelerate launch --config_file "$(mmrole train accelerate-config zero3)" -m mmrole.train sft \\
        --model Qwen/Qwen2-VL-7B-Instruct --data data/train/train_85k.json --output-dir runs/mrpa
"""

from __future__ import annotations

import sys

from mmrole.cli import main

if __name__ == "__main__":
    sys.argv = ["mmrole", "train", *sys.argv[1:]]
    main()
