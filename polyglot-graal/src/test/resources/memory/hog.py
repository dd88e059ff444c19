from raftoral import workflow


@workflow("hog-py", 1)
def hog(ctx, _):
    ctx.checkpoint("start", 1)
    kept = []
    while True:
        kept.append([len(kept)] * 10000)
