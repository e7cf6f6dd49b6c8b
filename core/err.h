/* Error reporting shared by every stage: a status code plus a message buffer the
 * caller owns. Internal functions return a tts_status and fill *err on failure. */
#ifndef TTS_CORE_ERR_H
#define TTS_CORE_ERR_H

#include "tts.h"

typedef struct {
    int code;
    char msg[512];
} tts_err;

/* Records code and a printf-style message in err (which may be NULL); returns code. */
int tts_seterr(tts_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err. */
void tts_err_clear(tts_err *err);

#endif
