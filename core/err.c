#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tts_seterr(tts_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void tts_err_clear(tts_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *tts_status_string(int status)
{
    switch (status) {
    case TTS_OK: return "success";
    case TTS_E_INVALID: return "invalid argument or input";
    case TTS_E_NOMEM: return "out of memory";
    case TTS_E_IO: return "input/output error";
    case TTS_E_FORMAT: return "wrong file format";
    case TTS_E_NO_MODEL: return "no voice model installed";
    case TTS_E_FRONTEND: return "text frontend (eSpeak NG) failed";
    case TTS_E_AUDIO: return "audio device error";
    case TTS_E_CANCELLED: return "cancelled";
    case TTS_E_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

const char *tts_version(void)
{
    return TTS_VERSION_STRING;
}
