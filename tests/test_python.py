"""The Python binding (python/libtts) against a tiny random-weight voice.

Run by meson with PYTHONPATH at python/, LIBTTS_LIBRARY at the built shared library and
TTS_MAKE_TINY_VOICE at tests/make_tiny_voice."""

import os
import subprocess
import tempfile
import threading
import unittest
import wave
import io

import libtts

TEXT = "Hello there, world. How are you today?"


class Binding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.voice = os.path.join(cls.dir.name, "tiny.ltm")
        subprocess.run([os.environ["TTS_MAKE_TINY_VOICE"], cls.voice], check=True)

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def engine(self, **kw):
        return libtts.Engine(model=self.voice, **kw)

    def test_voices(self):
        os.environ["TTS_MODEL_DIR"] = self.dir.name
        try:
            found = {v["name"]: v for v in libtts.voices()}
            self.assertIn("tiny", found)
            self.assertEqual(found["tiny"]["path"], self.voice)
            self.assertEqual(found["tiny"]["sample_rate"], 16000)
            self.assertTrue(found["tiny"]["vocoder"].endswith("tiny.vocoder.ltm"))
            with libtts.Engine("tiny") as tts:
                self.assertEqual(tts.voice()["path"], self.voice)
            with self.assertRaises(libtts.Error) as cm:
                libtts.Engine("nobody")
            self.assertIn("no voice named 'nobody'", str(cm.exception))
        finally:
            del os.environ["TTS_MODEL_DIR"]

    def test_version(self):
        self.assertRegex(libtts.version(), r"^\d+\.\d+\.\d+$")

    def test_synthesize(self):
        with self.engine() as tts:
            self.assertEqual(tts.sample_rate, 16000)
            a = tts.synthesize(TEXT)
        self.assertGreater(len(a.samples), 8000)
        self.assertTrue(all(-1.0 <= x <= 1.0 for x in a.samples))
        words = [e.text for e in a.events if e.type == libtts.EVENT_WORD]
        self.assertEqual(words[:3], ["Hello", "there", "world"])
        self.assertEqual(sum(e.type == libtts.EVENT_SENTENCE_END for e in a.events), 2)
        self.assertTrue(any(e.type == libtts.EVENT_PHONEME and e.phoneme for e in a.events))
        samples = [e.sample for e in a.events]
        self.assertEqual(samples, sorted(samples))
        self.assertLessEqual(samples[-1], len(a.samples))
        # PCM and WAV bytes hold the same samples
        pcm = a.pcm16()
        self.assertEqual(len(pcm), 2 * len(a.samples))
        with wave.open(io.BytesIO(a.wav())) as w:
            self.assertEqual((w.getnchannels(), w.getsampwidth(), w.getframerate()), (1, 2, 16000))
            self.assertEqual(w.readframes(w.getnframes()), pcm)
        self.assertAlmostEqual(a.duration, len(a.samples) / 16000)

    def test_utf8_spans(self):
        text = "Café au lait, s'il vous plaît."
        with self.engine() as tts:
            a = tts.synthesize(text)
        words = [e for e in a.events if e.type == libtts.EVENT_WORD]
        self.assertEqual(words[0].text, "Café")
        self.assertEqual(words[0].byte_length, len("Café".encode()))

    def test_marks(self):
        with self.engine() as tts:
            a = tts.synthesize('<speak>Hello <mark name="m1"/>there <foo>big</foo> world.'
                               '<mark name="end"/></speak>')
            self.assertIn("<foo> is not SSML", tts.last_note)
        marks = [(e.name, e.sample) for e in a.events if e.type == libtts.EVENT_MARK]
        there = [e.sample for e in a.events if e.type == libtts.EVENT_WORD and e.text == "there"]
        self.assertEqual([m[0] for m in marks], ["m1", "end"])
        self.assertEqual(marks[0][1], there[0])
        self.assertEqual(marks[1][1], len(a.samples))

    def test_stream_matches_whole(self):
        with self.engine() as tts:
            whole = tts.synthesize(TEXT)
            chunks = list(tts.stream(TEXT))
        self.assertGreater(len(chunks), 1)
        joined = [x for c in chunks for x in c.samples]
        self.assertEqual(joined, list(whole.samples))
        self.assertEqual([(e.type, e.sample) for c in chunks for e in c.events],
                         [(e.type, e.sample) for e in whole.events])

    def test_stream_cancel(self):
        with self.engine() as tts:
            long_text = " ".join([TEXT] * 20)
            got = 0
            for chunk in tts.stream(long_text, buffer_chunks=1):
                got += 1
                break
            self.assertEqual(got, 1)
            # the engine is free again, and speaks the same as a fresh one
            a = tts.synthesize("Hello.")
        with self.engine() as fresh:
            b = fresh.synthesize("Hello.")
        self.assertEqual(list(a.samples), list(b.samples))

    def test_close_during_stream(self):
        # a stream left suspended does not keep close() waiting
        tts = self.engine()
        g = tts.stream(" ".join([TEXT] * 30), buffer_chunks=1)
        next(g)
        done = threading.Event()
        t = threading.Thread(target=lambda: (tts.close(), done.set()))
        t.start()
        self.assertTrue(done.wait(30), "close() waited on a suspended stream")
        t.join()
        g.close()

    def test_to_file(self):
        with self.engine() as tts:
            path = os.path.join(self.dir.name, "out.wav")
            tts.synthesize_to_file("Hello.", path)
            with wave.open(path) as w:
                self.assertGreater(w.getnframes(), 1000)
            bad = os.path.join(self.dir.name, "no", "such", "dir.wav")
            with self.assertRaises(libtts.Error) as cm:
                tts.synthesize_to_file("Hello.", bad)
            self.assertEqual(cm.exception.status, -3)
            self.assertFalse(os.path.exists(bad))

    def test_errors(self):
        with self.assertRaises(libtts.Error) as cm:
            libtts.Engine(model="/nonexistent/voice.ltm")
        self.assertEqual(cm.exception.status_name, libtts.Error(-3, "").status_name)
        self.assertIn("/nonexistent/voice.ltm", str(cm.exception))
        with self.assertRaises(libtts.Error) as cm:
            self.engine(rate=5)
        self.assertEqual(cm.exception.status, -1)
        self.assertIn("rate", str(cm.exception))
        with self.engine() as tts:
            with self.assertRaises(libtts.Error) as cm:
                tts.synthesize("")
            self.assertEqual(cm.exception.status, -1)
            with self.assertRaises(libtts.Error) as cm:
                tts.synthesize("<speak>Hello <break time='1s'></speak>")
            self.assertIn("SSML line 1", str(cm.exception))
            with self.assertRaises(libtts.Error):
                list(tts.stream(""))
            self.assertGreater(len(tts.synthesize("Still here.").samples), 0)
        with self.assertRaises(ValueError):
            tts.synthesize("closed")

    def test_options(self):
        with self.engine() as tts:
            base = tts.synthesize("Hello there.")
        with self.engine(volume=0.5) as tts:
            quiet = tts.synthesize("Hello there.")
        self.assertEqual(len(quiet.samples), len(base.samples))
        self.assertLess(max(map(abs, quiet.samples)), max(map(abs, base.samples)))
        with self.engine(rate=2.0) as tts:
            fast = tts.synthesize("Hello there.")
        self.assertLess(len(fast.samples), len(base.samples))
        with self.engine(ssml=True) as tts:
            a = tts.synthesize("<speak>Hello <break time='500ms'/> there.</speak>")
        self.assertGreater(len(a.samples), 8000)

    def test_set_prosody(self):
        with self.engine() as tts:
            tts.set_prosody(rate=1.5)
            tts.set_prosody(volume=0.5)  # the rate stays
            a = tts.synthesize("Hello there.")
            with self.assertRaises(libtts.Error) as cm:
                tts.set_prosody(rate=3)
            self.assertIn("rate 3", str(cm.exception))
            self.assertEqual(list(tts.synthesize("Hello there.").samples), list(a.samples))
        with self.engine(rate=1.5, volume=0.5) as ref:
            self.assertEqual(list(ref.synthesize("Hello there.").samples), list(a.samples))

    def test_threads(self):
        out = {}

        def speak(k):
            with self.engine() as tts:
                out[k] = list(tts.synthesize(TEXT).samples)

        ts = [threading.Thread(target=speak, args=(k,)) for k in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(out[0], out[1])

    def test_numpy(self):
        try:
            import numpy
        except ImportError:
            self.skipTest("NumPy is not installed")
        with self.engine() as tts:
            a = tts.synthesize("Hello.")
        x = a.numpy()
        self.assertEqual(x.dtype, numpy.float32)
        self.assertEqual(x.tolist(), list(a.samples))


if __name__ == "__main__":
    unittest.main(verbosity=2)
