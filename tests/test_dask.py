"""The Dask example (python/examples/dask_tts.py) on a LocalCluster of 2 worker processes:
every file the same, to the byte, as one process makes. SKIP (77) without Dask."""

import os
import subprocess
import sys
import tempfile

try:
    import distributed
except ImportError:
    print("SKIP: python3-distributed (Dask) is not installed")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python",
                                "examples"))
import dask_tts  # noqa: E402
import libtts  # noqa: E402

TEXTS = ["Hello there.", "How are you today?", "The quick brown fox jumps over the lazy dog.",
         "One, two, three.", "This is the fifth text.", "And the sixth one, last of all."]


def main():
    with tempfile.TemporaryDirectory() as d:
        voice = os.path.join(d, "tiny.ltm")
        subprocess.run([os.environ["TTS_MAKE_TINY_VOICE"], voice], check=True)
        items = [{"id": "t%d" % i, "text": t} for i, t in enumerate(TEXTS)]
        one = os.path.join(d, "one")
        many = os.path.join(d, "many")
        os.makedirs(one)
        os.makedirs(many)
        for it in items:  # a single process
            dask_tts.speak_one(it, one, model=voice)
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
        with distributed.Client(cluster) as client:
            done = dask_tts.speak_all(client, items, many, model=voice)
            workers = client.run(os.getpid)
        cluster.close()
        assert len(done) == len(items), done
        assert [os.path.basename(p) for p, _ in done] == [it["id"] + ".wav" for it in items]
        for it in items:
            a = open(os.path.join(one, it["id"] + ".wav"), "rb").read()
            b = open(os.path.join(many, it["id"] + ".wav"), "rb").read()
            assert a == b, "%s differs between one process and the cluster" % it["id"]
        assert len(workers) == 2, workers
        print("ok: %d files across %d workers, the same bytes as one process" % (len(items),
                                                                                  len(workers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
