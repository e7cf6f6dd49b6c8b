#include "train/dtw.h"

#include <math.h>
#include <stdlib.h>

double tts_cost_l1(const float *a, const float *b, int dim)
{
    double c = 0;
    for (int k = 0; k < dim; k++)
        c += fabsf(a[k] - b[k]);
    return c / dim;
}

enum { STEP_DIAG, STEP_A, STEP_B };

double tts_dtw(const float *a, int na, const float *b, int nb, int dim, tts_frame_cost cost,
               int *a_lo, int *a_hi)
{
    if (na < 1 || nb < 1)
        return NAN;
    size_t cells = (size_t)(na + 1) * (nb + 1);
    double *D = malloc(sizeof(double) * cells);
    int *L = malloc(sizeof(int) * cells);
    unsigned char *step = a_lo && a_hi ? malloc(cells) : NULL;
    if (!D || !L || (a_lo && a_hi && !step)) {
        free(D);
        free(L);
        free(step);
        return NAN;
    }
#define IX(i, j) ((size_t)(i) * (nb + 1) + (j))
    for (int i = 0; i <= na; i++)
        for (int j = 0; j <= nb; j++)
            D[IX(i, j)] = INFINITY, L[IX(i, j)] = 0;
    D[IX(0, 0)] = 0;
    for (int i = 1; i <= na; i++)
        for (int j = 1; j <= nb; j++) {
            double c = cost(a + (size_t)(i - 1) * dim, b + (size_t)(j - 1) * dim, dim);
            double best = D[IX(i - 1, j - 1)];
            int len = L[IX(i - 1, j - 1)], s = STEP_DIAG;
            if (D[IX(i - 1, j)] < best)
                best = D[IX(i - 1, j)], len = L[IX(i - 1, j)], s = STEP_A;
            if (D[IX(i, j - 1)] < best)
                best = D[IX(i, j - 1)], len = L[IX(i, j - 1)], s = STEP_B;
            D[IX(i, j)] = best + c;
            L[IX(i, j)] = len + 1;
            if (step)
                step[IX(i, j)] = (unsigned char)s;
        }
    double r = D[IX(na, nb)] / L[IX(na, nb)];
    if (step) {
        /* back from (na, nb): cell (i, j) pairs a[i - 1] with b[j - 1] */
        int i = na, j = nb;
        a_lo[j - 1] = a_hi[j - 1] = i - 1;
        while (i > 1 || j > 1) {
            int s = i == 1 ? STEP_B : j == 1 ? STEP_A : step[IX(i, j)];
            if (s != STEP_B)
                i--;
            if (s != STEP_A)
                j--;
            if (s == STEP_A)
                a_lo[j - 1] = i - 1;
            else
                a_lo[j - 1] = a_hi[j - 1] = i - 1;
        }
    }
#undef IX
    free(D);
    free(L);
    free(step);
    return r;
}
