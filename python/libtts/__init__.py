"""libtts for Python: speech from text with the libtts engine (the C library, via ctypes).

    import libtts
    with libtts.Engine() as tts:                   # the shipped voice
        tts.synthesize_to_file("Hello, world.", "hello.wav")
        audio = tts.synthesize("How are you?")     # libtts.Audio: float samples, events
        wav_bytes = audio.wav()                    # 16-bit WAV in memory
        for chunk in tts.stream("A long text ..."):  # chunks as they are made
            play(chunk.samples)                    # array('f'); chunk.events: words ...

Errors raise libtts.Error, which carries the engine's message and status. An Engine is
used by one thread at a time (calls from several threads wait for each other); open one
per thread for parallel work.
"""

import array
import ctypes
import io
import os
import queue
import sys
import threading
import wave

__all__ = ["Engine", "Audio", "Chunk", "Event", "Error", "version", "voices", "EVENT_SENTENCE_START",
           "EVENT_SENTENCE_END", "EVENT_WORD", "EVENT_PHONEME", "EVENT_MARK"]

EVENT_SENTENCE_START = 1
EVENT_SENTENCE_END = 2
EVENT_WORD = 3
EVENT_PHONEME = 4
EVENT_MARK = 5
_CANCELLED = -8


class _Options(ctypes.Structure):
    # include/tts.h's tts_options; it carries its size, so a later library that has more
    # fields gives those their defaults
    _fields_ = [("size", ctypes.c_size_t),
                ("model_path", ctypes.c_char_p),
                ("vocoder", ctypes.c_char_p),
                ("vocoder_path", ctypes.c_char_p),
                ("threads", ctypes.c_int),
                ("rate", ctypes.c_float),
                ("volume", ctypes.c_float),
                ("sentence_silence", ctypes.c_float),
                ("griffin_lim_iters", ctypes.c_int),
                ("ssml", ctypes.c_int),
                ("lexicon_path", ctypes.c_char_p),
                ("pitch", ctypes.c_float),
                ("max_silence", ctypes.c_float),
                ("max_seconds", ctypes.c_float),
                ("voice", ctypes.c_char_p)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int),
                ("text_offset", ctypes.c_size_t),
                ("text_length", ctypes.c_size_t),
                ("sample", ctypes.c_uint64),
                ("phoneme", ctypes.c_char * 8),
                ("name", ctypes.c_char_p)]


_AudioCb = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
                            ctypes.POINTER(_Event), ctypes.c_size_t, ctypes.c_void_p)


def _candidates():
    env = os.environ.get("LIBTTS_LIBRARY")
    if env:
        return [env]  # asked for: that one, or an error that names it
    found = []
    try:
        from . import _config  # written by meson install
        found.append(_config.LIBRARY)
    except ImportError:
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    found.append(os.path.join(here, "..", "..", "build", "libtts.so.1"))  # the source tree
    found.append("libtts.so.1")  # the loader's search path
    return found


def _load():
    errors = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
            break
        except OSError as e:
            errors.append(str(e))
    else:
        raise ImportError("libtts: the C library was not found (set LIBTTS_LIBRARY to its path): "
                          + "; ".join(errors))
    lib.tts_status_string.restype = ctypes.c_char_p
    lib.tts_status_string.argtypes = [ctypes.c_int]
    lib.tts_version.restype = ctypes.c_char_p
    lib.tts_version.argtypes = []
    lib.tts_options_init_sized.restype = None
    lib.tts_options_init_sized.argtypes = [ctypes.POINTER(_Options), ctypes.c_size_t]
    lib.tts_engine_open.restype = ctypes.c_int
    lib.tts_engine_open.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(_Options)]
    lib.tts_engine_close.restype = None
    lib.tts_engine_close.argtypes = [ctypes.c_void_p]
    lib.tts_engine_error.restype = ctypes.c_char_p
    lib.tts_engine_error.argtypes = [ctypes.c_void_p]
    lib.tts_engine_sample_rate.restype = ctypes.c_int
    lib.tts_engine_sample_rate.argtypes = [ctypes.c_void_p]
    lib.tts_synthesize.restype = ctypes.c_int
    lib.tts_synthesize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, _AudioCb, ctypes.c_void_p]
    lib.tts_voices_list.restype = ctypes.c_int
    lib.tts_voices_list.argtypes = [ctypes.POINTER(ctypes.c_void_p)]
    lib.tts_voices_count.restype = ctypes.c_size_t
    lib.tts_voices_count.argtypes = [ctypes.c_void_p]
    lib.tts_voices_get.restype = ctypes.c_char_p
    lib.tts_voices_get.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    lib.tts_voices_free.restype = None
    lib.tts_voices_free.argtypes = [ctypes.c_void_p]
    lib.tts_engine_voice.restype = ctypes.c_char_p
    lib.tts_engine_voice.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.tts_engine_set_prosody.restype = ctypes.c_int
    lib.tts_engine_set_prosody.argtypes = [ctypes.c_void_p, ctypes.c_float, ctypes.c_float,
                                           ctypes.c_float]
    lib.tts_synthesize_to_file.restype = ctypes.c_int
    lib.tts_synthesize_to_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    return lib


_lib = _load()


_VOICE_KEYS = ("name", "language", "speaker", "sample_rate", "license", "corpus", "training",
               "path", "vocoder")


def voices():
    """The voices installed (see include/tts.h for where they are looked for), each a dict
    with the keys name, language, speaker, sample_rate (int), license, corpus, training,
    path and vocoder ("" where the voice file does not say)."""
    h = ctypes.c_void_p()
    rc = _lib.tts_voices_list(ctypes.byref(h))
    if rc != 0:
        raise Error(rc, "")
    try:
        out = []
        for i in range(_lib.tts_voices_count(h)):
            v = {k: _lib.tts_voices_get(h, i, k.encode()).decode("utf-8", "replace")
                 for k in _VOICE_KEYS}
            v["sample_rate"] = int(v["sample_rate"] or 0)
            out.append(v)
        return out
    finally:
        _lib.tts_voices_free(h)


def version():
    """The C library's version string, e.g. "0.2.0"."""
    return _lib.tts_version().decode()


class Error(Exception):
    """A libtts call failed: str(e) is the engine's message, e.status its tts_status code
    (negative) and e.status_name that code's name."""

    def __init__(self, status, message):
        self.status = status
        self.status_name = _lib.tts_status_string(status).decode()
        super().__init__(message or self.status_name)


class Event:
    """A sentence, word or phoneme of the text, at a sample position of the audio.

    type: EVENT_SENTENCE_START, EVENT_SENTENCE_END, EVENT_WORD, EVENT_PHONEME or EVENT_MARK
    sample: its position in the output, in samples (seconds: sample / sample_rate)
    byte_offset, byte_length: its span in the UTF-8 text (of the SSML document for SSML)
    text: that span of the text; phoneme: the IPA symbol (EVENT_PHONEME, else "")
    name: an SSML <mark>'s name (EVENT_MARK, else "")
    """

    __slots__ = ("type", "sample", "byte_offset", "byte_length", "text", "phoneme", "name")

    def __init__(self, ev, utf8):
        self.type = ev.type
        self.sample = ev.sample
        self.byte_offset = ev.text_offset
        self.byte_length = ev.text_length
        self.text = utf8[ev.text_offset:ev.text_offset + ev.text_length].decode("utf-8",
                                                                                "replace")
        self.phoneme = ev.phoneme.decode("utf-8", "replace")
        self.name = ev.name.decode("utf-8", "replace") if ev.name else ""

    def __repr__(self):
        names = {1: "SENTENCE_START", 2: "SENTENCE_END", 3: "WORD", 4: "PHONEME", 5: "MARK"}
        extra = " %r" % (self.phoneme or self.name) if self.phoneme or self.name else ""
        return "Event(%s, sample=%d, text=%r%s)" % (names.get(self.type, self.type), self.sample,
                                                     self.text, extra)


class Chunk:
    """Audio as the engine made it: samples (array('f'), mono, in [-1, 1]) and the events
    that fall in or before them."""

    __slots__ = ("samples", "events")

    def __init__(self, samples, events):
        self.samples = samples
        self.events = events


def _pcm16(samples):
    out = array.array("h", (int(round(max(-1.0, min(1.0, x)) * 32767)) for x in samples))
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


class Audio:
    """A whole utterance: samples (array('f'), mono, in [-1, 1]), sample_rate, events."""

    def __init__(self, samples, sample_rate, events):
        self.samples = samples
        self.sample_rate = sample_rate
        self.events = events

    @property
    def duration(self):
        """Seconds of audio."""
        return len(self.samples) / self.sample_rate

    def pcm16(self):
        """The samples as 16-bit little-endian PCM bytes."""
        return _pcm16(self.samples)

    def wav(self):
        """A 16-bit mono WAV file, as bytes."""
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.sample_rate)
            w.writeframes(self.pcm16())
        return buf.getvalue()

    def numpy(self):
        """The samples as a NumPy float32 array (needs NumPy)."""
        import numpy
        return numpy.frombuffer(self.samples, dtype=numpy.float32).copy()


def _path(p):
    return None if p is None else os.fsencode(p)


class Engine:
    """A voice, loaded: Engine(voice=None, ...) where voice is a voice's name (see voices();
    None: the shipped voice), or Engine(model=PATH) for a voice file. Keyword options as the
    C library's tts_options: vocoder ("default",
    "wavenet", "griffinlim"), vocoder_path, threads, rate (0.5 .. 2), volume (0 .. 4),
    pitch (semitones, -12 .. 12), sentence_silence (seconds), ssml (None: detect, True,
    False), lexicon (a user lexicon file), max_silence, max_seconds. Close it, or use it
    in a with block. After a synthesis, last_note is "" or a note on what it read
    leniently (an SSML element it does not know, spoken as its content)."""

    def __init__(self, voice=None, *, model=None, vocoder=None, vocoder_path=None, threads=1,
                 rate=1.0,
                 volume=1.0, pitch=0.0, sentence_silence=None, ssml=None, lexicon=None,
                 max_silence=None, max_seconds=None):
        o = _Options()
        _lib.tts_options_init_sized(ctypes.byref(o), ctypes.sizeof(o))
        # the strings must live as long as the call: keep them on the object
        self._keep = [_path(model), None if vocoder is None else vocoder.encode(),
                      _path(vocoder_path), _path(lexicon),
                      None if voice is None else voice.encode("utf-8")]
        o.model_path, o.vocoder, o.vocoder_path, o.lexicon_path, o.voice = self._keep
        o.threads = threads
        o.rate = rate
        o.volume = volume
        o.pitch = pitch
        if sentence_silence is not None:
            o.sentence_silence = sentence_silence
        if ssml is not None:
            o.ssml = 1 if ssml else -1
        if max_silence is not None:
            o.max_silence = max_silence
        if max_seconds is not None:
            o.max_seconds = max_seconds
        handle = ctypes.c_void_p()
        rc = _lib.tts_engine_open(ctypes.byref(handle), ctypes.byref(o))
        if rc != 0:
            msg = _lib.tts_engine_error(handle).decode("utf-8", "replace") if handle else ""
            _lib.tts_engine_close(handle)
            raise Error(rc, msg)
        self._h = handle
        self._lock = threading.Lock()
        self.last_note = ""
        self._prosody = [o.rate, o.volume, o.pitch]
        self._streams = set()  # the stop events of the streams running (close stops them)
        self.sample_rate = _lib.tts_engine_sample_rate(handle)

    def set_prosody(self, rate=None, volume=None, pitch=None):
        """Rate, volume and pitch for the next calls (those not given stay as they are),
        without reopening the engine."""
        new = [v if v is not None else old for v, old in zip((rate, volume, pitch), self._prosody)]
        with self._lock:
            rc = _lib.tts_engine_set_prosody(self._handle(), *new)
            if rc != 0:
                raise self._fail(rc)
        self._prosody = new

    def voice(self):
        """The open voice's metadata: a dict as voices() gives."""
        v = {k: _lib.tts_engine_voice(self._handle(), k.encode()).decode("utf-8", "replace")
             for k in _VOICE_KEYS}
        v["sample_rate"] = int(v["sample_rate"] or 0)
        return v

    def close(self):
        """Frees the engine (a stream still running is cancelled first)."""
        for stop in list(getattr(self, "_streams", ())):
            stop.set()  # its worker returns from the engine at its next chunk
        h, self._h = getattr(self, "_h", None), None
        if h:
            with self._lock:
                _lib.tts_engine_close(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # at interpreter exit the library may be gone already
            pass

    def _handle(self):
        if not self._h:
            raise ValueError("libtts: the engine is closed")
        return self._h

    def _fail(self, rc):
        return Error(rc, _lib.tts_engine_error(self._h).decode("utf-8", "replace"))

    def _run(self, text, on_chunk):
        """tts_synthesize with on_chunk(samples, events) per callback; on_chunk returns
        True to stop (not an error). Exceptions it raises stop synthesis and are raised
        here."""
        utf8 = text.encode("utf-8")
        failure, stopped = [], []

        def cb(pcm, n, events, n_events, _user):
            try:
                samples = array.array("f")
                if n:
                    samples.frombytes(ctypes.string_at(pcm, n * 4))
                evs = [Event(events[i], utf8) for i in range(n_events)]
                if on_chunk(samples, evs):
                    stopped.append(True)
                    return 1
                return 0
            except BaseException as e:  # ctypes would print it and carry on
                failure.append(e)
                return 1

        c_cb = _AudioCb(cb)
        with self._lock:
            rc = _lib.tts_synthesize(self._handle(), utf8, c_cb, None)
            err = self._fail(rc) if rc else None
            # after success: "" or a note on what was read leniently (SSML it does not know)
            self.last_note = "" if rc else _lib.tts_engine_error(self._h).decode("utf-8",
                                                                                "replace")
        if failure:
            raise failure[0]
        if rc and not (rc == _CANCELLED and stopped):
            raise err

    def synthesize(self, text):
        """Speaks text (plain or SSML); returns an Audio with all of it."""
        samples = array.array("f")
        events = []

        def take(s, evs):
            samples.extend(s)
            events.extend(evs)
            return False

        self._run(text, take)
        return Audio(samples, self.sample_rate, events)

    def synthesize_to_file(self, text, path):
        """Speaks text into an audio file: WAV, or FLAC, Ogg, Opus, MP3 by its extension.
        On failure no file is left behind."""
        with self._lock:
            rc = _lib.tts_synthesize_to_file(self._handle(), text.encode("utf-8"),
                                             os.fsencode(path))
            if rc != 0:
                raise self._fail(rc)

    def stream(self, text, buffer_chunks=8):
        """Yields Chunks as the engine makes them (the first after a fraction of a second,
        whatever the text's length). Leaving the loop early cancels the synthesis."""
        q = queue.Queue(maxsize=buffer_chunks)
        stop = threading.Event()
        self._streams.add(stop)
        done = object()
        result = []

        def take(s, evs):
            while not stop.is_set():
                try:
                    q.put(Chunk(s, evs), timeout=0.05)
                    return False
                except queue.Full:
                    pass
            return True

        def work():
            try:
                self._run(text, take)
            except BaseException as e:
                result.append(e)
            finally:
                while True:  # the end mark, even when the consumer has gone
                    try:
                        q.put(done, timeout=0.05)
                        break
                    except queue.Full:
                        if stop.is_set():
                            break

        worker = threading.Thread(target=work, name="libtts-stream", daemon=True)
        worker.start()
        try:
            while True:
                item = q.get()
                if item is done:
                    break
                yield item
        finally:
            stop.set()
            while worker.is_alive():
                try:
                    q.get(timeout=0.05)
                except queue.Empty:
                    pass
            worker.join()
            self._streams.discard(stop)
        if result:  # the whole text was asked for and it failed
            raise result[0]
