from raftoral import workflow


@workflow("broken-py", 1)
def broken(ctx, x):
    return x +
