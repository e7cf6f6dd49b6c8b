#include "train/frames.h"

#include <stdlib.h>
#include <string.h>

int frame_run_collect(const float *frames, int r, int pos, void *user)
{
    frame_run *c = user;
    size_t need = (c->n + (size_t)r) * c->n_mels;
    if (need > c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 8192;
        while (nc < need)
            nc *= 2;
        float *f = realloc(c->frames, nc * sizeof(float));
        if (!f)
            return 1;
        c->frames = f;
        c->cap = nc;
    }
    if (c->steps + 1 > c->pcap) {
        size_t nc = c->pcap ? c->pcap * 2 : 256;
        int *p = realloc(c->pos, nc * sizeof(int));
        if (!p)
            return 1;
        c->pos = p;
        c->pcap = nc;
    }
    memcpy(c->frames + c->n * c->n_mels, frames, sizeof(float) * (size_t)r * c->n_mels);
    c->n += (size_t)r;
    c->pos[c->steps++] = pos;
    return 0;
}

void frame_run_free(frame_run *c)
{
    free(c->frames);
    free(c->pos);
    *c = (frame_run){.n_mels = c->n_mels};
}
