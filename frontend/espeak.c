/* The one place that calls eSpeak NG. Its state is global: it is initialized once and every
 * call into it happens under g_lock, together with the voice selection it depends on. */
#include "frontend/internal.h"

#include <espeak-ng/espeak_ng.h>
#include <espeak-ng/speak_lib.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_init_rc;        /* 1 once eSpeak NG is initialized, or < 0 */
static char g_voice[64];     /* voice currently selected in eSpeak NG ("" = none) */

static void init_once(void)
{
    /* The data and the phoneme translator only. espeak_Initialize would also set up audio
     * output, and eSpeak NG 1.51 then makes a sound-server client (pcaudio -> PulseAudio)
     * even in synchronous mode: a connection attempt on every start, and "Failed to create
     * secure directory" on stderr for a user without a home, from a program that only
     * writes files. A missing espeak-ng-data is a status here, never exit(). */
    espeak_ng_InitializePath(NULL);
    espeak_ng_ERROR_CONTEXT ctx = NULL;
    g_init_rc = espeak_ng_Initialize(&ctx) == ENS_OK ? 1 : -1;
    espeak_ng_ClearErrorContext(&ctx);
}

int fe_espeak_lock(const char *voice, tts_err *err)
{
    pthread_once(&g_once, init_once);
    if (g_init_rc <= 0)
        return tts_seterr(err, TTS_E_FRONTEND,
                          "eSpeak NG could not be initialized (is espeak-ng-data installed? "
                          "ESPEAK_DATA_PATH names its parent directory)");
    if (strlen(voice) >= sizeof g_voice)
        return tts_seterr(err, TTS_E_INVALID, "eSpeak NG voice name too long: %.64s…", voice);
    pthread_mutex_lock(&g_lock);
    if (strcmp(g_voice, voice) != 0) {
        if (espeak_SetVoiceByName(voice) != EE_OK) {
            g_voice[0] = '\0';
            pthread_mutex_unlock(&g_lock);
            return tts_seterr(err, TTS_E_FRONTEND, "eSpeak NG has no voice \"%s\"", voice);
        }
        strcpy(g_voice, voice);
    }
    return TTS_OK;
}

void fe_espeak_unlock(void)
{
    pthread_mutex_unlock(&g_lock);
}

/* The language part of a voice name ("en-us" → "en"). */
static size_t lang_len(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n && v[i] != '-')
        i++;
    return i;
}

/* Appends piece to out, leaving out "(xx)…(en-us)" stretches in another language and
 * collapsing white space to single spaces. */
static void append_piece(const char *p, const char *voice, int *foreign, fe_buf *out)
{
    size_t vl = lang_len(voice, strlen(voice));
    while (*p) {
        if (*p == '(') {
            const char *e = strchr(p, ')');
            if (e) {
                size_t n = (size_t)(e - p - 1);
                const char *m = p + 1;
                int native = (n == strlen(voice) && !memcmp(m, voice, n)) ||
                             (lang_len(m, n) == vl && !memcmp(m, voice, vl));
                *foreign = !native;
                p = e + 1;
                continue;
            }
        }
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (out->n && out->p[out->n - 1] != ' ')
                fe_buf_putc(out, ' ');
            p++;
            continue;
        }
        if (!*foreign)
            fe_buf_putc(out, *p);
        p++;
    }
}

/* What eSpeak NG 1.51 (Debian 12) must not be given; each was found by fuzzing it under
 * AddressSanitizer (fuzz/fuzz_frontend, and a bare harness around espeak_TextToPhonemes):
 *
 *  - Code points of the scripts for which it switches to another language (Armenian, the
 *    Indic scripts, Georgian, Hangul): it reads freed memory (heap-use-after-free) on
 *    many of them, e.g. the Indic digits, Bengali U+09F3/U+09F8/U+09FB, Hangul jamo
 *    U+1180..U+11FF, Georgian U+10C6..U+10CF, alone or after such a switch. A scan of
 *    every code point U+0080..U+2FFFF, one call each, found 301, all inside these blocks.
 *    So the blocks never reach it: their digits (each Indic block's offsets 0x66..0x6F)
 *    become ASCII digits, read as the number they are, every other code point a space.
 *    Nothing audible is lost: the voice drops what eSpeak reads in another language
 *    anyway (append_piece).
 *  - Long tokens: "a." followed by 170 letters, or 125 dot-separated letters, overflow a
 *    stack buffer (glibc aborts: "stack smashing detected"). No run of non-space bytes
 *    longer than ESPEAK_RUN_MAX reaches it: a space is put in first. English words are
 *    far shorter; a run that long is a token nobody can read anyway.
 *  - It can also advance its text pointer past the terminating NUL (fe_espeak_ipa stops
 *    there instead of reading on). */
#define ESPEAK_RUN_MAX 64

static int switching_script(uint32_t c)
{
    return (c >= 0x0530 && c <= 0x058F) ||  /* Armenian */
           (c >= 0x0900 && c <= 0x0DFF) ||  /* Devanagari .. Sinhala */
           (c >= 0x10A0 && c <= 0x10FF) ||  /* Georgian */
           (c >= 0x1C90 && c <= 0x1CBF) ||  /* Georgian Mtavruli */
           (c >= 0x1100 && c <= 0x11FF) ||  /* Hangul jamo */
           (c >= 0x3130 && c <= 0x318F) ||  /* Hangul compatibility jamo */
           (c >= 0xA960 && c <= 0xA97F) ||  /* Hangul jamo extended-A */
           (c >= 0xAC00 && c <= 0xD7FF);    /* Hangul syllables, jamo extended-B */
}

static void espeak_guard(const char *text, fe_buf *safe)
{
    size_t n = strlen(text), run = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = fe_utf8_next(text + i, n - i, &c);
        const char *piece = text + i;
        size_t len = k;
        char digit;
        if (switching_script(c)) {
            unsigned off = c & 0x7F; /* the Indic blocks are 128 code points each */
            if (c <= 0x0DFF && c >= 0x0900 && off >= 0x66 && off <= 0x6F) {
                digit = (char)('0' + off - 0x66);
                piece = &digit;
                len = 1;
            } else {
                c = ' ';
            }
        }
        if (fe_is_space(c)) {
            fe_buf_putc(safe, ' ');
            run = 0;
        } else {
            if (run + len > ESPEAK_RUN_MAX) {
                fe_buf_putc(safe, ' ');
                run = 0;
            }
            fe_buf_putn(safe, piece, len);
            run += len;
        }
        i += k;
    }
}

int fe_espeak_ipa(const char *text, const char *voice, fe_buf *out)
{
    fe_buf safe;
    fe_buf_init(&safe);
    espeak_guard(text, &safe);
    if (fe_buf_cstr(&safe)) {
        fe_buf_free(&safe);
        return TTS_E_NOMEM;
    }
    text = safe.p;
    const char *end = text + safe.n;
    const void *p = text;
    int foreign = 0;
    size_t start = out->n;
    /* eSpeak NG returns one clause per call and advances p; bound the loop in case it
     * ever stops advancing */
    size_t guard = strlen(text) + 2;
    while (p && guard--) {
        const void *before = p;
        const char *ph = espeak_TextToPhonemes(&p, espeakCHARS_UTF8, espeakPHONEMES_IPA);
        if (ph && *ph) {
            if (out->n > start && out->p[out->n - 1] != ' ')
                fe_buf_putc(out, ' ');
            append_piece(ph, voice, &foreign, out);
        }
        if (p == before || (p && (const char *)p > end))
            break;
    }
    while (out->n > start && out->p[out->n - 1] == ' ')
        out->n--;
    if (out->p)
        out->p[out->n] = '\0';
    fe_buf_free(&safe);
    return out->oom ? TTS_E_NOMEM : TTS_OK;
}
