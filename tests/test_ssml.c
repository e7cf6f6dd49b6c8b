/*
 * SSML parser (frontend/ssml.h), phoneme input "[[ … ]]" and the user lexicon: every
 * element, entities, source offsets, every error with its line and column, the depth
 * limit, empty documents; the frontend reading phoneme input and lexicon words.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "frontend/ssml.h"

#include "check.h"

static tts_symtab *tab;

static int parse(tts_doc *d, const char *s, tts_err *e)
{
    return tts_ssml_parse(d, s, strlen(s), tab, e);
}

/* the composed text of TEXT segment i as a C string (static buffer) */
static const char *seg_text(const tts_doc *d, size_t i)
{
    static char buf[4096];
    if (i >= d->n_segs || d->segs[i].kind != TTS_SEG_TEXT)
        return "(none)";
    snprintf(buf, sizeof buf, "%.*s", (int)d->segs[i].len, d->text + d->segs[i].off);
    return buf;
}

/* the source text that the composed occurrence of word came from */
static const char *source_of(const tts_doc *d, const char *src, const char *word)
{
    static char buf[512];
    const char *w = strstr(d->text, word);
    if (!w)
        return "(word not in the composed text)";
    size_t a = (size_t)(w - d->text), off, len;
    tts_doc_source_span(d, a, a + strlen(word), &off, &len);
    snprintf(buf, sizeof buf, "%.*s", (int)len, src + off);
    return buf;
}

/* the parse must fail with a message holding every fragment given */
static void expect_error(const char *src, const char *frag1, const char *frag2)
{
    tts_doc d;
    tts_err e = {0};
    int rc = parse(&d, src, &e);
    CHECK(rc == TTS_E_INVALID, "expected an error for %s", src);
    CHECK(strstr(e.msg, frag1) != NULL, "error for %s: \"%s\" lacks \"%s\"", src, e.msg, frag1);
    if (frag2)
        CHECK(strstr(e.msg, frag2) != NULL, "error for %s: \"%s\" lacks \"%s\"", src, e.msg,
              frag2);
    CHECK(d.segs == NULL && d.owned == NULL, "a failed parse leaves the document empty");
    tts_doc_free(&d);
}

static void test_elements(void)
{
    tts_doc d;
    tts_err e = {0};

    /* plain speak */
    const char *s1 = "<speak>Hello world.</speak>";
    CHECK(parse(&d, s1, &e) == TTS_OK, "basic: %s", e.msg);
    CHECK(d.n_segs == 1 && !strcmp(seg_text(&d, 0), "Hello world.") && d.segs[0].sentence_end &&
              d.segs[0].rate == 1 && d.segs[0].volume == 1,
          "basic: %zu segments, '%s'", d.n_segs, seg_text(&d, 0));
    CHECK(!strcmp(source_of(&d, s1, "world"), "world"), "basic offsets");
    size_t off, len;
    tts_doc_source_span(&d, 6, 11, &off, &len);
    CHECK(off == 13 && len == 5, "span of 'world': %zu+%zu", off, len);
    tts_doc_free(&d);

    /* the XML prolog, version and namespace attributes, comments, CDATA */
    const char *s2 = "\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- a comment -->\n"
                     "<speak version=\"1.1\" xmlns=\"http://www.w3.org/2001/10/synthesis\" "
                     "xml:lang=\"en-US\">One <!-- <break/> --> two <![CDATA[<three> & four]]>"
                     "</speak>\n<!-- trailing -->\n";
    CHECK(parse(&d, s2, &e) == TTS_OK, "prolog: %s", e.msg);
    CHECK(d.n_segs == 1 && !strcmp(seg_text(&d, 0), "One  two <three> & four"),
          "comments and CDATA: '%s'", seg_text(&d, 0));
    CHECK(!strcmp(source_of(&d, s2, "<three> & four"), "<three> & four"), "CDATA offsets");
    tts_doc_free(&d);

    /* entities */
    const char *s3 = "<speak>AT&amp;T &lt;3 &gt; &quot;q&quot; &apos;a&apos; &#65;&#x42;&#xe9;"
                     "</speak>";
    CHECK(parse(&d, s3, &e) == TTS_OK, "entities: %s", e.msg);
    CHECK(!strcmp(seg_text(&d, 0), "AT&T <3 > \"q\" 'a' AB\xC3\xA9"), "entities: '%s'",
          seg_text(&d, 0));
    CHECK(!strcmp(source_of(&d, s3, "AT&T"), "AT&amp;T"), "entity offsets: '%s'",
          source_of(&d, s3, "AT&T"));
    CHECK(!strcmp(source_of(&d, s3, "AB"), "&#65;&#x42;"), "character references: '%s'",
          source_of(&d, s3, "AB"));
    tts_doc_free(&d);

    /* break: time, strength, default; the segments around it */
    const char *s4 = "<speak>a<break time=\"300ms\"/>b<break time=\"1.5s\"></break>c"
                     "<break strength=\"strong\"/>d<break/>e<break strength=\"none\"/>f"
                     "<break time=\"2s\" strength=\"weak\"/>g</speak>";
    CHECK(parse(&d, s4, &e) == TTS_OK, "breaks: %s", e.msg);
    unsigned want[] = {300, 1500, 700, 400, 0, 2000};
    int ok = d.n_segs == 13;
    for (size_t i = 0; ok && i < 13; i++)
        ok = d.segs[i].kind == (i % 2 ? TTS_SEG_BREAK : TTS_SEG_TEXT) &&
             (i % 2 == 0 || d.segs[i].ms == want[i / 2]);
    CHECK(ok, "breaks: %zu segments", d.n_segs);
    CHECK(ok && !strcmp(seg_text(&d, 12), "g") && d.segs[12].sentence_end && !d.segs[0].sentence_end,
          "break segments");
    CHECK(ok && d.segs[1].src_off == 8 && !strncmp(s4 + d.segs[1].src_off, "<break time=\"300ms\"/>",
                                                   d.segs[1].src_len),
          "break tag span");
    tts_doc_free(&d);

    /* prosody: rate and volume, nested and relative */
    const char *s5 = "<speak>n<prosody rate=\"x-slow\">s<prosody rate=\"+100%\">m</prosody>"
                     "</prosody><prosody rate=\"80%\" volume=\"loud\">f<prosody volume=\"-6dB\" "
                     "rate=\"1.5\">g</prosody></prosody><prosody volume=\"silent\">q</prosody>"
                     "<prosody volume=\"50%\" pitch=\"high\">h</prosody>"
                     "<prosody rate=\"fast\">a<prosody rate=\"x-fast\">b</prosody></prosody>"
                     "</speak>";
    CHECK(parse(&d, s5, &e) == TTS_OK, "prosody: %s", e.msg);
    struct { const char *t; float rate, vol; } pr[] = {
        {"n", 1, 1}, {"s", 0.5f, 1}, {"m", 1, 1}, {"f", 0.8f, 1.9953f}, {"g", 1.2f, 1.0f},
        {"q", 1, 0}, {"h", 1, 0.5f}, {"a", 1.25f, 1}, {"b", 1.75f, 1}};
    ok = d.n_segs == 9;
    for (size_t i = 0; ok && i < 9; i++) {
        ok = !strcmp(seg_text(&d, i), pr[i].t) && fabsf(d.segs[i].rate - pr[i].rate) < 1e-3f &&
             fabsf(d.segs[i].volume - pr[i].vol) < 1e-3f;
        if (!ok)
            printf("  segment %zu: '%s' rate %g volume %g\n", i, seg_text(&d, i),
                   d.segs[i].rate, d.segs[i].volume);
    }
    CHECK(ok, "prosody segments (%zu)", d.n_segs);
    tts_doc_free(&d);
    /* prosody pitch: names, semitones, percentages of the frequency, relative when nested */
    CHECK(parse(&d, "<speak>a<prosody pitch=\"x-high\">b<prosody pitch=\"-2st\">c</prosody>"
                    "</prosody><prosody pitch=\"+10%\">d</prosody><prosody pitch=\"low\">e"
                    "<prosody pitch=\"default\">f</prosody></prosody></speak>", &e) == TTS_OK,
          "prosody pitch: %s", e.msg);
    {
        const char *t[] = {"a", "b", "c", "d", "e", "f"};
        float st[] = {0, 6, 4, 12 * log2f(1.1f), -3, 0};
        int good = d.n_segs == 6;
        for (size_t i = 0; good && i < 6; i++)
            good = !strcmp(seg_text(&d, i), t[i]) && fabsf(d.segs[i].pitch - st[i]) < 1e-3f;
        CHECK(good, "prosody pitch segments (%zu)", d.n_segs);
    }
    tts_doc_free(&d);
    /* the same rate again continues the segment */
    CHECK(parse(&d, "<speak>a <prosody rate=\"medium\">b</prosody> c</speak>", &e) == TTS_OK &&
              d.n_segs == 1 && !strcmp(seg_text(&d, 0), "a b c"),
          "unchanged prosody keeps one segment: %zu", d.n_segs);
    tts_doc_free(&d);

    /* say-as */
    const char *s6 = "<speak>"
                     "<say-as interpret-as=\"characters\">Ab9</say-as>|"
                     "<say-as interpret-as=\"spell-out\">xy</say-as>|"
                     "<say-as interpret-as=\"cardinal\">1,234</say-as>|"
                     "<say-as interpret-as=\"cardinal\">-3.25</say-as>|"
                     "<say-as interpret-as=\"ordinal\">21st</say-as>|"
                     "<say-as interpret-as=\"ordinal\">3</say-as>|"
                     "<say-as interpret-as=\"date\" format=\"ymd\">2024-03-05</say-as>|"
                     "<say-as interpret-as=\"date\">12/25/1999</say-as>|"
                     "<say-as interpret-as=\"date\" format=\"dm\">4 July</say-as>|"
                     "<say-as interpret-as=\"telephone\">+1 (555) 123-4567</say-as>"
                     "</speak>";
    CHECK(parse(&d, s6, &e) == TTS_OK, "say-as: %s", e.msg);
    const char *sa[] = {"ay bee nine", "ex why", "one thousand two hundred thirty-four",
                        "minus three point two five", "twenty-first", "third",
                        "March fifth, twenty twenty-four", "December twenty-fifth, nineteen ninety-nine",
                        "July fourth", "plus one, five five five, one two three, four five six seven"};
    for (size_t i = 0; i < sizeof sa / sizeof *sa; i++)
        CHECK(strstr(d.text, sa[i]) != NULL, "say-as: '%s' not in '%s'", sa[i], d.text);
    CHECK(!strcmp(source_of(&d, s6, "ay bee nine"), "Ab9"), "say-as span: '%s'",
          source_of(&d, s6, "ay bee nine"));
    CHECK(!strcmp(source_of(&d, s6, "bee"), "Ab9"), "a word of say-as spans the content");
    tts_doc_free(&d);

    /* sub and phoneme */
    const char *s7 = "<speak>The <sub alias=\"World Wide Web Consortium\">W3C</sub> says "
                     "<phoneme alphabet=\"ipa\" ph=\"t&#x259;m\xCB\x88\x65\xC9\xAAto\xCA\x8A\">"
                     "tomato</phoneme>.<sub alias=\"empty\"/></speak>";
    CHECK(parse(&d, s7, &e) == TTS_OK, "sub, phoneme: %s", e.msg);
    CHECK(strstr(d.text, "The  World Wide Web Consortium  says  [[t\xC9\x99m\xCB\x88\x65\xC9\xAAto\xCA\x8A]] .")
              != NULL, "sub and phoneme composed: '%s'", d.text);
    CHECK(!strcmp(source_of(&d, s7, "Wide"), "W3C"), "alias span: %s", source_of(&d, s7, "Wide"));
    CHECK(!strcmp(source_of(&d, s7, "[[t"), "tomato"), "phoneme span");
    CHECK(!strcmp(source_of(&d, s7, "empty"), "<sub alias=\"empty\"/>"),
          "an empty element's words span the element: '%s'", source_of(&d, s7, "empty"));
    tts_doc_free(&d);

    /* s and p: sentence boundaries */
    const char *s8 = "<speak><p><s>One</s><s>Two</s></p>\n  <p>Three <s>Four</s> five</p></speak>";
    CHECK(parse(&d, s8, &e) == TTS_OK, "s, p: %s", e.msg);
    const char *sp[] = {"One", "Two", "Three ", "Four", " five"};
    ok = d.n_segs == 5;
    for (size_t i = 0; ok && i < 5; i++)
        ok = !strcmp(seg_text(&d, i), sp[i]) && d.segs[i].sentence_end;
    CHECK(ok, "s and p: %zu segments ('%s')", d.n_segs, seg_text(&d, 0));
    tts_doc_free(&d);

    /* empty documents */
    CHECK(parse(&d, "<speak></speak>", &e) == TTS_OK && d.n_segs == 0 && d.len == 0,
          "empty speak");
    tts_doc_free(&d);
    CHECK(parse(&d, "  <speak/>  ", &e) == TTS_OK && d.n_segs == 0, "self-closed speak");
    tts_doc_free(&d);
    CHECK(parse(&d, "<speak>  \n </speak>", &e) == TTS_OK && d.n_segs == 0, "white space only");
    tts_doc_free(&d);
    expect_error("", "line 1, column 1", "no <speak>");
    expect_error("  \n <!-- x -->", "no <speak>", NULL);
}

/* what screen readers send: <mark> as events, <emphasis>, <voice>, <lang> and unknown
 * elements spoken as their content (the first unknown one noted) */
static void test_lenient(void)
{
    tts_doc d;
    tts_err e = {0};
    const char *s1 = "<speak><mark name=\"m0\"/>Hello <mark name=\"a&amp;b\"/>world. "
                     "<mark name=\"end\"></mark></speak>";
    CHECK(parse(&d, s1, &e) == TTS_OK, "marks: %s", e.msg);
    CHECK(d.n_marks == 3 && !strcmp(d.marks[0].name, "m0") && !strcmp(d.marks[1].name, "a&b") &&
              !strcmp(d.marks[2].name, "end"),
          "marks: %zu, names decoded", d.n_marks);
    CHECK(d.n_marks == 3 && d.marks[0].src_off == 7 && d.marks[0].src_len == 17 &&
              !strncmp(s1 + d.marks[1].src_off, "<mark name=\"a&amp;b\"/>", d.marks[1].src_len),
          "marks' source spans");
    CHECK(d.n_segs == 1 && !strcmp(seg_text(&d, 0), "Hello world. "),
          "marks do not split the text: %zu segments, '%s'", d.n_segs, seg_text(&d, 0));
    CHECK(d.n_marks == 3 && d.marks[1].text == strlen("Hello ") && !d.warning[0],
          "a mark's place in the composed text: %zu", d.n_marks == 3 ? d.marks[1].text : 0);
    tts_doc_free(&d);

    const char *s2 = "<speak>a <foo x=\"1\">big <b>dog</b></foo> <voice name=\"kathleen\">"
                     "<lang xml:lang=\"en-GB\">barks</lang></voice></speak>";
    CHECK(parse(&d, s2, &e) == TTS_OK, "unknown elements: %s", e.msg);
    CHECK(d.n_segs == 1 && !strcmp(seg_text(&d, 0), "a big dog barks"),
          "unknown elements spoken as their content: '%s'", seg_text(&d, 0));
    CHECK(strstr(d.warning, "line 1, column 10: <foo> is not SSML") != NULL,
          "the first unknown element noted: \"%s\"", d.warning);
    CHECK(!strcmp(source_of(&d, s2, "dog"), "dog"), "offsets inside unknown elements");
    tts_doc_free(&d);

    const char *s3 = "<speak>a <emphasis>b</emphasis> <emphasis level=\"reduced\">c</emphasis> "
                     "<emphasis level=\"none\">d</emphasis></speak>";
    CHECK(parse(&d, s3, &e) == TTS_OK, "emphasis: %s", e.msg);
    CHECK(d.n_segs == 4 && d.segs[1].rate < 1 && d.segs[1].pitch > 0 && d.segs[1].volume > 1 &&
              d.segs[2].rate > 1 && d.segs[2].pitch < 0 && d.segs[2].volume < 1 &&
              d.segs[3].rate == 1 && d.segs[3].pitch == 0 && !strcmp(seg_text(&d, 3), "d"),
          "emphasis: slower, higher, louder; reduced the opposite; none as it was (%zu segs)",
          d.n_segs);
    tts_doc_free(&d);
}

static void test_errors(void)
{
    /* line and column: 1-based, columns in codepoints */
    expect_error("<speak>\n  <prosody rate=\"slow\">\n    text</speak>",
                 "SSML line 3, column 9: <prosody> closed by </speak>", "opened at line 2, column 3");
    expect_error("<speak>\n<p>unclosed", "SSML line 2, column 1: <p> is not closed", NULL);
    expect_error("<speak>h\xC3\xA9llo <foo>x</bar></speak>", "line 1, column 20: <foo> closed by </bar>",
                 "opened at line 1, column 14");
    expect_error("<speak>a <foo>x</speak>", "<foo> closed by </speak>", NULL);
    expect_error("<speak>a <mark/></speak>", "line 1, column 10: <mark> needs name=", NULL);
    expect_error("<speak>a <mark name=\"m\" time=\"1\"/></speak>", "unknown attribute time= on <mark>",
                 NULL);
    expect_error("<speak>a <mark name=\"m\">x</mark></speak>", "<mark> must be empty", NULL);
    expect_error("<speak>a <mark name=\"m\"><s/></mark></speak>", "<mark> may hold only nothing",
                 NULL);
    expect_error("<speak><emphasis level=\"loud\">a</emphasis></speak>", "bad value \"loud\" for level=",
                 NULL);
    expect_error("<speak><break time=\"fast\"/></speak>", "line 1, column 21: bad value \"fast\" for "
                 "time= of <break>", NULL);
    expect_error("<speak><break time=\"11s\"/></speak>", "longer than the 10000 ms", NULL);
    expect_error("<speak><break strength=\"huge\"/></speak>", "bad value \"huge\" for strength=", NULL);
    expect_error("<speak><prosody rate=\"quick\">a</prosody></speak>", "line 1, column 23: bad value",
                 "rate=");
    expect_error("<speak><prosody rate=\"10\">a</prosody></speak>", "outside 0.25 .. 4", NULL);
    expect_error("<speak><prosody volume=\"+20dB\">a</prosody></speak>", "more than the 4", NULL);
    expect_error("<speak><prosody volume=\"7\">a</prosody></speak>", "bad value \"7\" for volume=", NULL);
    expect_error("<speak><prosody pitch=\"+13st\">a</prosody></speak>", "more than the 12", NULL);
    expect_error("<speak><prosody pitch=\"x-high\"><prosody pitch=\"+7st\">a</prosody></prosody></speak>",
                 "more than the 12", NULL);
    expect_error("<speak><prosody pitch=\"200Hz\">a</prosody></speak>", "bad value \"200Hz\" for pitch=",
                 NULL);
    expect_error("<speak><prosody speed=\"1\">a</prosody></speak>", "column 17: unknown attribute speed=",
                 NULL);
    expect_error("<speak>a &nbsp; b</speak>", "line 1, column 10: unknown entity &nbsp;", NULL);
    expect_error("<speak>a & b</speak>", "column 10: '&' must begin an entity", NULL);
    expect_error("<speak>&#0;</speak>", "not a character XML allows", NULL);
    expect_error("<speak>&#xZZ;</speak>", "bad character reference", NULL);
    expect_error("<speak>a</speak> b", "column 18: text after </speak>", NULL);
    expect_error("hello <speak>a</speak>", "column 1: text before <speak>", NULL);
    expect_error("<p>a</p>", "must begin with <speak>, not <p>", NULL);
    expect_error("<speak><speak>a</speak></speak>", "<speak> inside <speak>", NULL);
    expect_error("<speak>a</p></speak>", "column 9: <speak> closed by </p>", NULL);
    expect_error("<speak>a</speak></speak>", "</speak> closes nothing", NULL);
    expect_error("<speak><say-as interpret-as=\"cardinal\">a<break/></say-as></speak>",
                 "<say-as> may hold only text, not <break>", NULL);
    expect_error("<speak><say-as interpret-as=\"cardinal\">12ab</say-as></speak>",
                 "column 40: say-as cardinal: \"12ab\" is not a number", NULL);
    expect_error("<speak><say-as interpret-as=\"ordinal\">first</say-as></speak>", "say-as ordinal",
                 NULL);
    expect_error("<speak><say-as interpret-as=\"date\">13/01/2020</say-as></speak>",
                 "month 13 is not 1 .. 12", NULL);
    expect_error("<speak><say-as interpret-as=\"date\" format=\"ymd\">2020-01</say-as></speak>",
                 "does not match format \"ymd\"", NULL);
    expect_error("<speak><say-as interpret-as=\"date\" format=\"qq\">1</say-as></speak>",
                 "bad value \"qq\" for format=", NULL);
    expect_error("<speak><say-as interpret-as=\"telephone\">none</say-as></speak>", "has no digits",
                 NULL);
    expect_error("<speak><say-as interpret-as=\"currency\">1</say-as></speak>",
                 "bad value \"currency\" for interpret-as=", NULL);
    expect_error("<speak><say-as>1</say-as></speak>", "<say-as> needs interpret-as=", NULL);
    expect_error("<speak><sub>x</sub></speak>", "<sub> needs alias=", NULL);
    expect_error("<speak><phoneme>x</phoneme></speak>", "<phoneme> needs ph=", NULL);
    expect_error("<speak><phoneme ph=\"\">x</phoneme></speak>", "ph= of <phoneme> is empty", NULL);
    expect_error("<speak><phoneme alphabet=\"x-sampa\" ph=\"a\">x</phoneme></speak>",
                 "alphabet \"x-sampa\" is not supported", NULL);
    expect_error("<speak>\n<phoneme ph=\"h\xC9\x99Q\">x</phoneme></speak>",
                 "SSML line 2, column 16: unknown phoneme symbol 'Q' (U+0051)", NULL);
    expect_error("<speak><break time=\"1s\">x</break></speak>", "<break> must be empty", NULL);
    expect_error("<speak><break time=1s/></speak>", "must be in quotes", NULL);
    expect_error("<speak><break time=\"1s/></speak>", "not closed by a quote", NULL);
    expect_error("<speak><break time=\"1s\" time=\"2s\"/></speak>", "given twice", NULL);
    expect_error("<speak><break time/></speak>", "attribute time has no value", NULL);
    expect_error("<speak><sub alias=\"a<b\">x</sub></speak>", "'<' in an attribute value", NULL);
    expect_error("<speak>a < b</speak>", "column 10: '<' must begin a tag", NULL);
    expect_error("<speak><break", "tag is not closed", NULL);
    expect_error("<speak>a<!-- open", "comment is not closed", NULL);
    expect_error("<!DOCTYPE speak><speak>a</speak>", "DOCTYPE", NULL);
    expect_error("<speak>a</speak >x", "text after </speak>", NULL);
    expect_error("<speak>\xff</speak>", "line 1, column 8: invalid UTF-8", NULL);
    expect_error("<speak><p>a</p </speak>", "malformed end tag", NULL);
}

static void test_depth(void)
{
    /* <speak> and 63 more: fine; one more: an error, not a deep recursion */
    char *s = malloc(100000);
    strcpy(s, "<speak>");
    for (int i = 0; i < TTS_SSML_MAX_DEPTH - 1; i++)
        strcat(s, "<prosody>");
    strcat(s, "deep");
    for (int i = 0; i < TTS_SSML_MAX_DEPTH - 1; i++)
        strcat(s, "</prosody>");
    strcat(s, "</speak>");
    tts_doc d;
    tts_err e = {0};
    CHECK(parse(&d, s, &e) == TTS_OK && d.n_segs == 1, "depth %d: %s", TTS_SSML_MAX_DEPTH, e.msg);
    tts_doc_free(&d);
    strcpy(s, "<speak>");
    for (int i = 0; i < 5000; i++)
        strcat(s, "<s>");
    CHECK(parse(&d, s, &e) == TTS_E_INVALID && strstr(e.msg, "nested deeper than 64") &&
              strstr(e.msg, "column 197"),
          "too deep: %s", e.msg);
    tts_doc_free(&d);
    /* 64 levels of self-closing breaks inside: the break itself is one level deeper */
    strcpy(s, "<speak>");
    for (int i = 0; i < TTS_SSML_MAX_DEPTH - 1; i++)
        strcat(s, "<p>");
    strcat(s, "<break/>");
    CHECK(parse(&d, s, &e) == TTS_E_INVALID && strstr(e.msg, "nested deeper"), "break too deep");
    tts_doc_free(&d);
    free(s);
}

/* Every prefix of a document using everything, and every one-byte change of it: an error
 * naming a place, or a document that holds together; never a crash. */
static void test_truncations(void)
{
    const char *full =
        "<?xml version=\"1.0\"?>\n<speak version=\"1.1\" xml:lang=\"en-US\">\n"
        "<!-- c --><p><s>Fish &amp; chips &#x263A;</s><s>at <say-as interpret-as=\"date\" "
        "format=\"dmy\">3/4/2024</say-as></s></p>\n<prosody rate=\"slow\" volume=\"+3dB\">"
        "Call <say-as interpret-as=\"telephone\">555-1234</say-as><break time=\"250ms\"/>"
        "<sub alias=\"now\">asap</sub> <phoneme ph=\"t\xC9\x99m\">t</phoneme></prosody>"
        "<![CDATA[ <raw> ]]> [[h\xC9\x99]]</speak>\n";
    size_t n = strlen(full);
    char *buf = malloc(n + 1);
    const char flips[] = {'<', '>', '&', '"', '/', ' ', 'x', '\n', ';', '#'};
    size_t bad = 0, good = 0;
    for (size_t cut = 0; cut <= n; cut++) {
        for (size_t f = 0; f <= sizeof flips; f++) {
            memcpy(buf, full, n + 1);
            size_t len = cut;
            if (f < sizeof flips) { /* one byte changed, whole length */
                if (cut == n)
                    break;
                buf[cut] = flips[f];
                len = n;
            }
            tts_doc d;
            tts_err e = {0};
            int rc = tts_ssml_parse(&d, buf, len, tab, &e);
            if (rc) {
                bad += rc != TTS_E_INVALID || strncmp(e.msg, "SSML line ", 10) != 0;
                continue;
            }
            good++;
            size_t end = 0;
            for (size_t i = 0; i < d.n_segs; i++) {
                const tts_seg *g = &d.segs[i];
                if (g->kind == TTS_SEG_TEXT) {
                    bad += g->off < end || g->off + g->len > d.len || !(g->rate >= 0.25f) ||
                           !(g->rate <= 4) || !(g->volume >= 0) || !(g->volume <= 4);
                    end = g->off + g->len;
                    for (size_t k = g->off; k < g->off + g->len; k++) {
                        size_t so, sl;
                        tts_doc_source_span(&d, k, k + 1, &so, &sl);
                        bad += so + sl > len || sl == 0;
                    }
                } else {
                    bad += g->ms > TTS_SSML_MAX_BREAK_MS || g->src_off + g->src_len > len;
                }
            }
            bad += d.text[d.len] != '\0';
            tts_doc_free(&d);
        }
    }
    CHECK(bad == 0 && good > 0, "truncated and changed documents: %zu bad, %zu parsed", bad, good);
    free(buf);
}

static void test_detect_plain(void)
{
    CHECK(tts_ssml_detect("<speak>x</speak>", 16), "detect");
    CHECK(tts_ssml_detect(" \n\t<speak version=\"1.0\">", 24), "detect after white space");
    CHECK(tts_ssml_detect("\xEF\xBB\xBF<?xml version=\"1.0\"?><speak>", 30), "detect xml");
    CHECK(!tts_ssml_detect("<speaker> said hi", 17), "not <speaker>");
    CHECK(!tts_ssml_detect("Hello <speak>", 13), "not when later");
    CHECK(!tts_ssml_detect("", 0), "not empty");

    tts_doc d;
    tts_err e = {0};
    const char *t = "Plain &amp; simple.";
    CHECK(tts_doc_plain(&d, t, strlen(t), &e) == TTS_OK && d.n_segs == 1 && d.text == t &&
              d.segs[0].len == strlen(t) && d.segs[0].sentence_end,
          "plain document");
    size_t off, len;
    tts_doc_source_span(&d, 6, 11, &off, &len);
    CHECK(off == 6 && len == 5, "plain spans are the identity");
    tts_doc_free(&d);

    size_t line, col;
    tts_text_line_col("ab\nc\xC3\xA9" "d", 7, 6, &line, &col);
    CHECK(line == 2 && col == 3, "line/col: %zu %zu", line, col);
}

/* ------------------------------------------------------- phoneme input, lexicon ---- */

static void test_phoneme_input(tts_frontend *fe)
{
    tts_err e = {0};
    size_t where = 99;
    const char *ok = "Say [[h\xC9\x99l\xCB\x88o\xCA\x8A]] now.";
    CHECK(tts_frontend_check_phonemes(fe, ok, strlen(ok), &where, &e) == TTS_OK, "check: %s", e.msg);
    const char *bad = "Say [[h\xC9\x99lQo]] now.";
    CHECK(tts_frontend_check_phonemes(fe, bad, strlen(bad), &where, &e) == TTS_E_INVALID &&
              where == 10 && strstr(e.msg, "'Q' (U+0051)"),
          "unknown symbol: %zu %s", where, e.msg);
    const char *open = "Say [[h\xC9\x99l now.";
    CHECK(tts_frontend_check_phonemes(fe, open, strlen(open), &where, &e) == TTS_E_INVALID &&
              where == 4 && strstr(e.msg, "not closed"),
          "unclosed: %zu %s", where, e.msg);
    CHECK(tts_frontend_check_phonemes(fe, "a [[ ]] b", 9, &where, &e) == TTS_E_INVALID &&
              strstr(e.msg, "empty"), "empty: %s", e.msg);
    CHECK(tts_frontend_check_phonemes(fe, "a [b] ]] c", 10, &where, &e) == TTS_OK,
          "single brackets are text");

    /* phonemize: spoken as given, one word spanning the brackets */
    tts_phonemes ph;
    CHECK(tts_frontend_phonemize(fe, ok, strlen(ok), &ph, &e) == TTS_OK, "phonemize: %s", e.msg);
    CHECK(strstr(ph.ipa, " h\xC9\x99l\xCB\x88o\xCA\x8A n") != NULL, "phoneme input ipa: %s", ph.ipa);
    CHECK(ph.n_words == 3 && ph.words[1].offset == 4 && ph.words[1].length == 13,
          "phoneme input word: %zu words, %zu+%zu", ph.n_words, ph.n_words > 1 ? ph.words[1].offset : 0,
          ph.n_words > 1 ? ph.words[1].length : 0);
    tts_phonemes_free(&ph);
    CHECK(tts_frontend_phonemize(fe, bad, strlen(bad), &ph, &e) == TTS_E_INVALID &&
              strstr(e.msg, "at byte offset 10"), "phonemize names the offset: %s", e.msg);
    /* several words and a pause inside; the sentence splitter keeps the brackets whole */
    const char *multi = "[[w\xCB\x88\xC9\x9Ci. \xCB\x88\xC9\x91\xCB\x90 Ok]] fine. Next.";
    tts_sentence_iter it;
    size_t so, sl;
    CHECK(tts_sentences_begin(&it, multi, strlen(multi), &e) == TTS_OK &&
              tts_sentences_next(&it, &so, &sl) && so == 0 && !strncmp(multi + sl - 5, "fine.", 5),
          "sentence keeps phoneme input whole: %zu+%zu", so, sl);
    CHECK(tts_frontend_check_phonemes(fe, multi, strlen(multi), &where, &e) == TTS_E_INVALID &&
              strstr(e.msg, "'O'"), "upper-case O is no symbol: %s", e.msg);
    /* the normalizer shows the phoneme input as it is */
    char *norm = NULL;
    CHECK(tts_frontend_normalize("a [[b  c]] d", 12, &norm, &e) == TTS_OK && norm &&
              !strcmp(norm, "a [[b c]] d"), "normalize: %s", norm ? norm : "(null)");
    free(norm);
}

static void test_lexicon(tts_frontend *fe)
{
    tts_err e = {0};
    tts_lexicon *lex = NULL;
    const char *good = "# my words\n"
                       "\n"
                       "tomato\tt\xC9\x99m\xCB\x88\xC9\x91\xCB\x90to\xCA\x8A\n"
                       "  Kathleen   k\xCB\x88\xC3\xA6\xCE\xB8li\xCB\x90n  \r\n"
                       "tomato t\xC9\x99m\xCB\x88\x65\xC9\xAAto\xCA\x8A\n"
                       "\xC3\x89t\xC3\xA9 \xCB\x88\x65\xC9\xAAte\xC9\xAA\n"
                       "doctor d\xCB\x88\xC9\x91kt\xC9\x9A";
    CHECK(tts_lexicon_parse(&lex, good, strlen(good), "good.lex", tts_frontend_symbols(fe), &e) ==
              TTS_OK, "lexicon: %s", e.msg);
    CHECK(tts_lexicon_count(lex) == 4, "4 words (the later tomato wins): %zu", tts_lexicon_count(lex));
    const char *p = tts_lexicon_lookup(lex, "TOMATO", 6);
    CHECK(p && !strcmp(p, "t\xC9\x99m\xCB\x88\x65\xC9\xAAto\xCA\x8A"), "later line wins, any case");
    p = tts_lexicon_lookup(lex, "kathleen", 8);
    CHECK(p && !strcmp(p, "k\xCB\x88\xC3\xA6\xCE\xB8li\xCB\x90n"), "spaces and CR trimmed");
    CHECK(tts_lexicon_lookup(lex, "\xC3\xA9t\xC3\xA9", 5) != NULL, "Latin-1 case folding");
    CHECK(tts_lexicon_lookup(lex, "potato", 6) == NULL, "unknown word");

    /* the frontend uses it before eSpeak NG */
    tts_phonemes a, b;
    const char *t = "A tomato for Dr. Kathleen.";
    CHECK(tts_frontend_phonemize(fe, t, strlen(t), &a, &e) == TTS_OK, "phonemize");
    tts_frontend_set_lexicon(fe, lex);
    CHECK(tts_frontend_phonemize(fe, t, strlen(t), &b, &e) == TTS_OK, "phonemize with lexicon");
    CHECK(strcmp(a.ipa, b.ipa) != 0 && strstr(b.ipa, "t\xC9\x99m\xCB\x88\x65\xC9\xAAto\xCA\x8A") &&
              strstr(b.ipa, "k\xCB\x88\xC3\xA6\xCE\xB8li\xCB\x90n.") &&
              strstr(b.ipa, "d\xCB\x88\xC9\x91kt\xC9\x9A"),
          "lexicon changes the phonemes: '%s' → '%s'", a.ipa, b.ipa);
    CHECK(b.n_words == 5 && b.words[1].offset == 2 && b.words[1].length == 6 &&
              b.words[3].offset == 13 && b.words[3].length == 3,
          "lexicon words keep their spans");
    tts_phonemes_free(&a);
    tts_phonemes_free(&b);
    tts_frontend_set_lexicon(fe, NULL);

    /* errors name the file and the line */
    struct { const char *text, *frag; } bad[] = {
        {"ok o\xCA\x8A\nbad\n", "lexicon 'x.lex' line 2: no phonemes after 'bad'"},
        {"# c\n\nword w\xC9\x9CQd\n", "lexicon 'x.lex' line 3, column 8: unknown phoneme symbol 'Q'"},
        {"w \xff\n", "lexicon 'x.lex' line 1: invalid UTF-8"},
        {"w [[a]]\n", "unknown phoneme symbol '['"},
        {"w a$\n", "unknown phoneme symbol '$'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lex = NULL;
        int rc = tts_lexicon_parse(&lex, bad[i].text, strlen(bad[i].text), "x.lex",
                                   tts_frontend_symbols(fe), &e);
        CHECK(rc == TTS_E_INVALID && !lex && strstr(e.msg, bad[i].frag), "bad lexicon %zu: %s", i,
              e.msg);
    }
    CHECK(tts_lexicon_load(&lex, "/nonexistent/my.lex", tts_frontend_symbols(fe), &e) ==
              TTS_E_INVALID && strstr(e.msg, "/nonexistent/my.lex") &&
              strstr(e.msg, "No such file"), "missing file: %s", e.msg);
    /* from a file */
    char path[] = "/tmp/tts_lex_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("hello h\xC9\x99l\xCB\x88o\xCA\x8A\n", f);
    fclose(f);
    CHECK(tts_lexicon_load(&lex, path, tts_frontend_symbols(fe), &e) == TTS_OK &&
              tts_lexicon_count(lex) == 1, "load: %s", e.msg);
    tts_lexicon_free(lex);
    unlink(path);
    CHECK(tts_lexicon_parse(&lex, "", 0, "empty", tts_frontend_symbols(fe), &e) == TTS_OK &&
              tts_lexicon_count(lex) == 0, "empty lexicon");
    tts_lexicon_free(lex);
}

/* SSML <phoneme> through the frontend: the composed "[[…]]" is spoken as given */
static void test_ssml_frontend(tts_frontend *fe)
{
    tts_doc d;
    tts_err e = {0};
    const char *s = "<speak>I say <phoneme ph=\"t\xC9\x99m\xCB\x88\x65\xC9\xAAto\xCA\x8A\">tomato"
                    "</phoneme>, <say-as interpret-as=\"characters\">ok</say-as>.</speak>";
    CHECK(tts_ssml_parse(&d, s, strlen(s), tts_frontend_symbols(fe), &e) == TTS_OK, "parse: %s",
          e.msg);
    tts_phonemes ph;
    CHECK(tts_frontend_phonemize(fe, d.text + d.segs[0].off, d.segs[0].len, &ph, &e) == TTS_OK,
          "phonemize: %s", e.msg);
    CHECK(strstr(ph.ipa, "t\xC9\x99m\xCB\x88\x65\xC9\xAAto\xCA\x8A,") != NULL, "ipa: %s", ph.ipa);
    int found = 0;
    for (size_t w = 0; w < ph.n_words; w++) {
        size_t off, len;
        tts_doc_source_span(&d, d.segs[0].off + ph.words[w].offset,
                            d.segs[0].off + ph.words[w].offset + ph.words[w].length, &off, &len);
        found += len == 6 && !strncmp(s + off, "tomato", 6);
        found += len == 2 && !strncmp(s + off, "ok", 2);
    }
    CHECK(found == 3, "word spans in the SSML: %d (tomato once, ok for both letters)", found);
    tts_phonemes_free(&ph);
    FILE *null = fopen("/dev/null", "w");
    CHECK(tts_doc_format(fe, &d, null, &e) == TTS_OK, "format: %s", e.msg);
    fclose(null);
    tts_doc_free(&d);
}

int main(void)
{
    tts_err e = {0};
    if (tts_symtab_builtin(&tab, &e)) {
        printf("no symbol table: %s\n", e.msg);
        return 1;
    }
    test_elements();
    test_errors();
    test_lenient();
    test_depth();
    test_truncations();
    test_detect_plain();
    tts_frontend *fe;
    if (tts_frontend_open(&fe, NULL, &e)) {
        printf("FAIL: frontend: %s\n", e.msg);
        return 1;
    }
    test_phoneme_input(fe);
    test_lexicon(fe);
    test_ssml_frontend(fe);
    tts_frontend_close(fe);
    tts_symtab_free(tab);
    if (failures) {
        printf("%d of %d checks failed\n", failures, checks);
        return 1;
    }
    printf("all %d SSML, phoneme input and lexicon checks passed\n", checks);
    return 0;
}
