#!/usr/bin/env bash
# The measurements that only a GPU can make, in one command (a lent GPU session runs it once):
#   1. issue 17: chapters 3 and 4 at their SD defaults on SD1.4's full architecture, float16 (t4_fit.jsonl)
#   2. issue 23: the ESD step on SD1.4's architecture, paired in one process: the sampled route with the frozen
#      sampler (batched 3 and 8 ahead, and one at a time) and the noise route, against the reference (paired.jsonl)
#   3. issue 21: recording cross-attention for the attention map, on SD1.4's architecture in float16 (attention_overhead.jsonl)
# Each step appends its rows to the repository's results files; copy them back from the machine afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
python benchmarks/t4_fit.py --model sd14-arch --device cuda --iterations 3
for ahead in 3 8; do
    python benchmarks/esd_step.py --model sd14-arch --device cuda --dtype float16 --ddim-steps 50 --paired \
        --iterations 9 --warmup 3 --sampler frozen --sources sample,noise --targets-ahead "$ahead" \
        --implementations reference,gridlib-unbatched,gridlib
done
python benchmarks/attention_overhead.py --model sd14-arch --device cuda --dtype float16 --repeats 10
