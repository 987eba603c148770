#!/usr/bin/env bash
# Measure the DRAM bytes of one training step per (workload, framework) with Nsight Compute.
# Usage: run_ncu.sh OUT_DIR [WHEEL_DIR]
#   WHEEL_DIR: wheels of snntorch, spikingjelly and loguru, installed with --no-deps into
#   /tmp/site when given (for a machine without network).
# Writes OUT_DIR/<workload>__<framework>[__<override>].csv (neurosim measured-CSV format),
# the raw ncu CSVs and a provenance file env.txt. See docs/gpu-baseline.md.
set -u
OUT=$(realpath "$1"); WHL=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
mkdir -p "$OUT/raw"
if [ -n "$WHL" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$WHL"/*.whl && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
NCU=${NCU:-$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)}
DEADLINE=${DEADLINE:-480}   # seconds: skip configurations that would start after this
PER_RUN=${PER_RUN:-150}
{
  echo "date: $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.memory --format=csv,noheader
  "$NCU" --version | tail -1
  python3 -c 'import torch,sys;p=torch.cuda.get_device_properties(0);print("python",sys.version.split()[0],"torch",torch.__version__,"cuda",torch.version.cuda,"cudnn",torch.backends.cudnn.version(),"gpu",p.name,"L2",p.L2_cache_size,"SMs",p.multi_processor_count)'
  python3 -c 'import snntorch,importlib.metadata as m;print("snntorch",snntorch.__version__,"spikingjelly",m.version("spikingjelly"))'
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
DRV=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)
TORCHV=$(python3 -c 'import torch;print(torch.__version__)')
START=$SECONDS
# workload file | override (or -) ; both frameworks each
CONFIGS=${CONFIGS:-"$HERE/workloads/snn-mlp.yaml|- $ROOT/workloads/vgg11-cifar10.yaml|- $HERE/workloads/snn-conv-res.yaml|- $ROOT/workloads/vgg11-cifar10.yaml|batch=32"}
for cfg in $CONFIGS; do
  wl=${cfg%%|*}; ov=${cfg##*|}
  for fw in spikingjelly snntorch; do
    if (( SECONDS - START > DEADLINE )); then echo "deadline: skipping $wl $ov $fw"; continue; fi
    name=$(basename "$wl" .yaml)__$fw; setargs=()
    if [ "$ov" != "-" ]; then name=${name}__${ov//=/}; setargs=(--set "$ov"); fi
    t0=$SECONDS
    timeout "$PER_RUN" "$NCU" --profile-from-start off \
      --metrics dram__bytes_read.sum,dram__bytes_write.sum,gpu__time_duration.sum \
      --cache-control none --clock-control none --csv --page raw --print-units base \
      --log-file "$OUT/raw/$name.ncu.csv" \
      python3 "$HERE/measure.py" --workload "$wl" "${setargs[@]}" --framework "$fw" \
      --warmup 3 --info "$OUT/raw/$name.json" > "$OUT/raw/$name.log" 2>&1
    rc=$?
    python3 "$HERE/ncu_to_csv.py" "$OUT/raw/$name.ncu.csv" "$OUT/$name.csv" \
      --meta "workload=$(basename "$wl" .yaml)" --meta "overrides=$ov" --meta "framework=$fw" \
      --meta "gpu=$GPU" --meta "driver=$DRV" --meta "torch=$TORCHV" \
      --meta "tool=$("$NCU" --version | tail -1)" \
      --meta "command=ncu --profile-from-start off --metrics dram__bytes_read.sum,dram__bytes_write.sum,gpu__time_duration.sum --cache-control none --clock-control none python3 benchmarks/gpu_dram/measure.py --workload $(basename "$wl") ${setargs[*]} --framework $fw --warmup 3" \
      > "$OUT/raw/$name.sum" 2>&1
    echo "== $name (ncu rc $rc, $((SECONDS - t0)) s)"; cat "$OUT/raw/$name.sum"; tail -2 "$OUT/raw/$name.log"
    # wall-clock per step, without the profiler
    timeout 60 python3 "$HERE/measure.py" --workload "$wl" "${setargs[@]}" --framework "$fw" \
      --warmup 3 --time-steps 20 2>/dev/null | grep "time per step" | sed "s/^/   $name /"
  done
done
echo "total $((SECONDS - START)) s"
