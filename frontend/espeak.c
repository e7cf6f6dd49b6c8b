/* The one place that calls eSpeak NG. Its state is global: it is initialized once and every
 * call into it happens under g_lock, together with the voice selection it depends on. */
#include "frontend/internal.h"

#include <espeak-ng/speak_lib.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_init_rc;        /* eSpeak NG's sample rate, or < 0 */
static char g_voice[64];     /* voice currently selected in eSpeak NG ("" = none) */

static void init_once(void)
{
    /* DONT_EXIT: a missing espeak-ng-data must be an error, never exit() */
    g_init_rc = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL,
                                  espeakINITIALIZE_DONT_EXIT);
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

/* eSpeak NG 1.51 (Debian 12) reads freed memory inside espeak_TextToPhonemes when English
 * text holds the digits of most Indic scripts (Bengali, Gurmukhi, Gujarati, Tamil, Kannada,
 * Malayalam) or some Bengali signs (U+09F3, U+09F8, U+09FB): AddressSanitizer,
 * heap-use-after-free, found by fuzz/fuzz_frontend from a 3-byte input. So the Indic blocks
 * (U+0900 .. U+0DFF, 3-byte UTF-8 lead E0, second byte A4 .. B7) never reach it: their
 * digits (each block's offsets 0x66 .. 0x6F) become ASCII digits, read as the number they
 * are, and every other character a space. Nothing audible is lost: the voice drops the
 * words eSpeak reads in another language anyway (append_piece). */
static void indic_guard(const char *text, fe_buf *safe)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s) {
        if (s[0] == 0xE0 && s[1] >= 0xA4 && s[1] <= 0xB7 && (s[2] & 0xC0) == 0x80) {
            unsigned cp = ((unsigned)(s[1] & 0x3F) << 6) | (s[2] & 0x3Fu);
            unsigned off = cp & 0x7F;
            fe_buf_putc(safe, off >= 0x66 && off <= 0x6F ? (char)('0' + off - 0x66) : ' ');
            s += 3;
        } else
            fe_buf_putc(safe, (char)*s++);
    }
}

int fe_espeak_ipa(const char *text, const char *voice, fe_buf *out)
{
    fe_buf safe;
    fe_buf_init(&safe);
    indic_guard(text, &safe);
    if (fe_buf_cstr(&safe)) {
        fe_buf_free(&safe);
        return TTS_E_NOMEM;
    }
    text = safe.p;
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
        if (p == before)
            break;
    }
    while (out->n > start && out->p[out->n - 1] == ' ')
        out->n--;
    if (out->p)
        out->p[out->n] = '\0';
    fe_buf_free(&safe);
    return out->oom ? TTS_E_NOMEM : TTS_OK;
}
