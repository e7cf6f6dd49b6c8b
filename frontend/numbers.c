/* Numbers as US English words: cardinals, ordinals, years, digit strings. */
#include "frontend/internal.h"

#include <string.h>

static const char *const ones[20] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
    "seventeen", "eighteen", "nineteen"};
static const char *const tens[10] = {
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

/* 1..999 */
static void say_hundreds(fe_buf *b, unsigned v)
{
    if (v >= 100) {
        fe_buf_word(b, ones[v / 100]);
        fe_buf_word(b, "hundred");
        v %= 100;
        if (!v)
            return;
    }
    if (v < 20) {
        fe_buf_word(b, ones[v]);
    } else {
        fe_buf_word(b, tens[v / 10]);
        if (v % 10) {
            fe_buf_putc(b, '-');
            fe_buf_puts(b, ones[v % 10]);
        }
    }
}

void fe_say_cardinal(fe_buf *b, uint64_t v)
{
    static const char *const scale[] = {"", "thousand", "million", "billion", "trillion"};
    if (v == 0) {
        fe_buf_word(b, "zero");
        return;
    }
    if (v > FE_CARDINAL_MAX) {
        char d[24];
        int n = 0;
        char tmp[24];
        while (v) {
            tmp[n++] = (char)('0' + v % 10);
            v /= 10;
        }
        for (int i = 0; i < n; i++)
            d[i] = tmp[n - 1 - i];
        fe_say_digits(b, d, (size_t)n);
        return;
    }
    unsigned groups[5];
    int ng = 0;
    while (v) {
        groups[ng++] = (unsigned)(v % 1000);
        v /= 1000;
    }
    for (int g = ng - 1; g >= 0; g--) {
        if (!groups[g])
            continue;
        say_hundreds(b, groups[g]);
        if (g)
            fe_buf_word(b, scale[g]);
    }
}

void fe_say_digits(fe_buf *b, const char *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (d[i] >= '0' && d[i] <= '9')
            fe_buf_word(b, ones[d[i] - '0']);
}

/* start of the last word of b, where a word ends at a space or a hyphen */
static size_t last_word(const fe_buf *b)
{
    size_t i = b->n;
    while (i > 0 && b->p[i - 1] != ' ' && b->p[i - 1] != '-')
        i--;
    return i;
}

void fe_last_word_ordinal(fe_buf *b)
{
    static const struct {
        const char *card, *ord;
    } irregular[] = {{"one", "first"}, {"two", "second"}, {"three", "third"},
                     {"five", "fifth"}, {"eight", "eighth"}, {"nine", "ninth"},
                     {"twelve", "twelfth"}};
    if (b->oom || b->n == 0)
        return;
    size_t w = last_word(b);
    const char *word = b->p + w;
    for (size_t i = 0; i < sizeof irregular / sizeof *irregular; i++) {
        if (!strcmp(word, irregular[i].card)) {
            b->n = w;
            fe_buf_puts(b, irregular[i].ord);
            return;
        }
    }
    if (b->n > w && b->p[b->n - 1] == 'y') {
        b->n--;
        fe_buf_puts(b, "ieth");
    } else {
        fe_buf_puts(b, "th");
    }
}

void fe_last_word_plural(fe_buf *b)
{
    if (b->oom || b->n == 0)
        return;
    char c = b->p[b->n - 1];
    if (c == 'y') {
        b->n--;
        fe_buf_puts(b, "ies");
    } else if (c == 's' || c == 'x') {
        fe_buf_puts(b, "es");
    } else {
        fe_buf_putc(b, 's');
    }
}

void fe_say_ordinal(fe_buf *b, uint64_t v)
{
    if (v > FE_CARDINAL_MAX) {
        fe_say_cardinal(b, v);
        return;
    }
    fe_say_cardinal(b, v);
    fe_last_word_ordinal(b);
}

/* 1066 → "ten sixty-six", 1905 → "nineteen oh five", 1900 → "nineteen hundred",
 * 2000 → "two thousand", 2007 → "two thousand seven", 2024 → "twenty twenty-four". */
void fe_say_year(fe_buf *b, unsigned y)
{
    unsigned hi = y / 100, lo = y % 100;
    if (y < 1000 || y > 9999 || y % 1000 == 0 || (lo < 10 && y % 1000 < 10)) {
        fe_say_cardinal(b, y);
        return;
    }
    say_hundreds(b, hi);
    if (lo == 0) {
        fe_buf_word(b, "hundred");
    } else if (lo < 10) {
        fe_buf_word(b, "oh");
        fe_buf_word(b, ones[lo]);
    } else {
        say_hundreds(b, lo);
    }
}
