/*
 * Tests of speechd/sd_text.c: the documents the module makes of what Speech Dispatcher
 * sends, and the fallback reading of a document the engine refuses.
 */
#include <stdlib.h>
#include <string.h>

#include "sd_text.h"
#include "tests/check.h"

/* checks that f's result is want, and frees it */
#define CHECK_STR(got_expr, want)                                                         \
    do {                                                                                  \
        char *got_ = (got_expr);                                                          \
        CHECK(got_ && !strcmp(got_, want), "%s\n  got  %s\n  want %s", #got_expr,         \
              got_ ? got_ : "(null)", want);                                              \
        free(got_);                                                                       \
    } while (0)

static void test_escape(void)
{
    CHECK_STR(sd_text_escape("a<b>&\"'", 7), "a&lt;b&gt;&amp;&quot;&apos;");
    CHECK_STR(sd_text_escape("x\x01y\x7f", 4), "x y ");  /* controls: spaces */
    CHECK_STR(sd_text_escape("\xff" "a\xc3", 3), "\xef\xbf\xbd" "a\xef\xbf\xbd"); /* bad UTF-8 */
    CHECK_STR(sd_text_escape("\xc3\xa9\xf0\x9f\x98\x80", 6), "\xc3\xa9\xf0\x9f\x98\x80");
    CHECK_STR(sd_text_escape("\xed\xa0\x80", 3), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(sd_text_is_ssml("  \n<speak>x</speak>"), "SSML after white space");
    CHECK(sd_text_is_ssml("<?xml version=\"1.0\"?><speak/>"), "SSML with a declaration");
    CHECK(!sd_text_is_ssml("a <b>"), "text is not SSML");
    CHECK(!sd_text_is_ssml("<b>bold</b>"), "a tag is not SSML");
}

static void test_speak(void)
{
    /* plain text: escaped in <speak>, "[[" defused */
    CHECK_STR(sd_text_speak("if [[ a < b ]]; then"),
              "<speak>if [ [ a &lt; b ]]; then</speak>");
    /* SSML: kept, "[[" defused in text only (not in markup, nor a mark's name) */
    CHECK_STR(sd_text_speak("<speak>x[[y]] <mark name=\"a[[b\"/>z</speak>"),
              "<speak>x[ [y]] <mark name=\"a[[b\"/>z</speak>");
    CHECK_STR(sd_text_speak("<speak>[[[</speak>"), "<speak>[ [ [</speak>");
    CHECK_STR(sd_text_speak("<speak><!-- [[ --><![CDATA[a[[b]]>c</speak>"),
              "<speak><!-- [[ --><![CDATA[a[ [b]]>c</speak>");
    /* a quoted '>' in an attribute is not the tag's end */
    CHECK_STR(sd_text_speak("<speak><mark name=\"x>[[\"/>[[</speak>"),
              "<speak><mark name=\"x>[[\"/>[ [</speak>");
    /* unclosed markup is left as it is (for the engine to report) */
    CHECK_STR(sd_text_speak("<speak>a [[ <b"), "<speak>a [ [ <b");
}

static void test_char_key_icon(void)
{
    CHECK_STR(sd_text_char("a", 0),
              "<speak><say-as interpret-as=\"characters\">a</say-as></speak>");
    CHECK_STR(sd_text_char("A", 1),
              "<speak>capital <say-as interpret-as=\"characters\">A</say-as></speak>");
    CHECK_STR(sd_text_char("A", 0),
              "<speak><say-as interpret-as=\"characters\">A</say-as></speak>");
    CHECK_STR(sd_text_char("<", 0), "<speak>less</speak>");
    CHECK_STR(sd_text_char("\\", 0), "<speak>backslash</speak>");
    CHECK_STR(sd_text_char("\xc3\xa9", 0),
              "<speak><say-as interpret-as=\"characters\">\xc3\xa9</say-as></speak>");
    CHECK_STR(sd_text_char("space", 0), "<speak>space</speak>");
    CHECK_STR(sd_text_char(" ", 0), "<speak>space</speak>");
    CHECK_STR(sd_text_char("dot", 0), "<speak>dot</speak>"); /* the server's word */
    CHECK_STR(sd_text_char("<speak>x</speak>", 0), "<speak>x</speak>");

    CHECK_STR(sd_text_key("a"), "<speak><say-as interpret-as=\"characters\">a</say-as></speak>");
    CHECK_STR(sd_text_key("shift_a"),
              "<speak>shift <say-as interpret-as=\"characters\">a</say-as></speak>");
    CHECK_STR(sd_text_key("control_alt_delete"), "<speak>control alt delete</speak>");
    CHECK_STR(sd_text_key("double-quote"), "<speak>double quote</speak>");
    CHECK_STR(sd_text_key("kp-enter"), "<speak>keypad enter</speak>");
    CHECK_STR(sd_text_key("kp-*"), "<speak>keypad star</speak>");
    CHECK_STR(sd_text_key("kp-1"),
              "<speak>keypad <say-as interpret-as=\"characters\">1</say-as></speak>");
    CHECK_STR(sd_text_key("_"), "<speak>underline</speak>");
    CHECK_STR(sd_text_icon("message-new_x&y"), "<speak>message new x&amp;y</speak>");
}

static void test_pieces(void)
{
    size_t n;
    sd_piece *p = sd_text_pieces("<?xml version=\"1.0\"?><speak version=\"1.0\" xml:lang=\"en\">"
                                 "One &amp; two.<mark name=\"__spd_1\"/><p>Three</p>"
                                 "<foo bar='1'>x &#x41;&#66; &bogus; a < b</foo>"
                                 "<mark name='m&lt;2'/><!-- c --><![CDATA[<d>]]></speak>",
                                 &n);
    CHECK(p && n == 5, "5 pieces, got %zu", n);
    if (p && n == 5) {
        CHECK(!p[0].mark && !strcmp(p[0].text, "One & two."), "text 0: '%s'", p[0].text);
        CHECK(p[1].mark && !strcmp(p[1].mark, "__spd_1"), "mark 1");
        CHECK(!p[2].mark && !strcmp(p[2].text, " Three x AB &bogus; a < b"), "text 2: '%s'",
              p[2].text);
        CHECK(p[3].mark && !strcmp(p[3].mark, "m<2"), "mark 3: '%s'", p[3].mark);
        CHECK(!p[4].mark && !strcmp(p[4].text, "<d>"), "text 4: '%s'", p[4].text);
        CHECK_STR(sd_text_join(p, 0, n, 1),
                  "<speak>One &amp; two.<mark name=\"__spd_1\"/> Three x AB &amp;bogus; a &lt; "
                  "b<mark name=\"m&lt;2\"/>&lt;d&gt;</speak>");
        CHECK_STR(sd_text_join(p, 0, n, 0),
                  "<speak>One &amp; two. Three x AB &amp;bogus; a &lt; b&lt;d&gt;</speak>");
        CHECK_STR(sd_text_join(p, 2, 3, 0), "<speak> Three x AB &amp;bogus; a &lt; b</speak>");
    }
    sd_text_pieces_free(p, n);

    /* a mark name with a line break cannot break the protocol's lines */
    p = sd_text_pieces("<speak><mark name=\"a&#10;b\"/></speak>", &n);
    CHECK(p && n == 1 && p[0].mark && !strcmp(p[0].mark, "a b"), "mark with LF");
    sd_text_pieces_free(p, n);

    /* nothing: no pieces, not a failure */
    p = sd_text_pieces("", &n);
    CHECK(p && n == 0, "empty document");
    CHECK_STR(sd_text_join(p, 0, 0, 1), "<speak></speak>");
    sd_text_pieces_free(p, n);

    /* "[[" defused in the joined text */
    p = sd_text_pieces("<speak>a[[b</speak>", &n);
    CHECK_STR(sd_text_join(p, 0, n, 1), "<speak>a[ [b</speak>");
    sd_text_pieces_free(p, n);
}

int main(void)
{
    test_escape();
    test_speak();
    test_char_key_icon();
    test_pieces();
    printf("%d checks, %d failures\n", checks, failures);
    return failures != 0;
}
