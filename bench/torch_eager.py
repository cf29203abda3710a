"""PyTorch eager training of the same model, data, batch size and threads as `pot-trainer bench`.

`pot-trainer bench --python PYTHON` writes the training set as raw little-endian arrays and runs
this script with the model and optimizer it times itself, so that both figures come from one run
on the same machine. Prints one JSON object: {"seconds": best of the repeats, "steps": ...,
"first_loss": ..., "torch": version, "threads": ...}.

Needs a Python with `torch` importable (the project's slim torch-venv cannot import it, see
scripts/setup.sh); bench/README.md says how to make one.
"""
import argparse
import json
import time

import numpy as np
import torch
from torch import nn


def model(args):
    if args.model == "mlp":
        layers, width = [], args.inputs
        for hidden in args.hidden:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        return nn.Sequential(*layers, nn.Linear(width, args.classes))
    side = int(round(args.inputs ** 0.5))
    c1, c2 = args.channels
    return nn.Sequential(
        nn.Unflatten(1, (1, side, side)),
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c2 * (side // 4) ** 2, args.classes),
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--features", required=True, help="f32 LE, samples x inputs")
    p.add_argument("--labels", required=True, help="i64 LE, samples")
    p.add_argument("--inputs", type=int, required=True)
    p.add_argument("--classes", type=int, required=True)
    p.add_argument("--model", choices=["mlp", "cnn"], required=True)
    p.add_argument("--hidden", type=int, nargs="*", default=[])
    p.add_argument("--channels", type=int, nargs=2, default=[8, 16])
    p.add_argument("--optimizer", choices=["sgd", "adam"], required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, required=True)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    xs = torch.from_numpy(np.fromfile(args.features, dtype="<f4").reshape(-1, args.inputs).copy())
    ys = torch.from_numpy(np.fromfile(args.labels, dtype="<i8").copy())
    generator = torch.Generator().manual_seed(0)
    batches = torch.randint(0, len(ys), (args.steps, args.batch_size), generator=generator)

    def run():
        net = model(args)
        opt = (torch.optim.Adam if args.optimizer == "adam" else torch.optim.SGD)(
            net.parameters(), lr=args.lr
        )
        loss_fn = nn.CrossEntropyLoss()
        first = None
        start = time.perf_counter()
        for step in range(args.steps):
            idx = batches[step]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
            if first is None:
                first = loss.item()
        return time.perf_counter() - start, first

    run()  # warm-up
    timings = [run() for _ in range(args.repeats)]
    print(json.dumps({
        "seconds": min(t for t, _ in timings),
        "steps": args.steps,
        "first_loss": timings[0][1],
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
