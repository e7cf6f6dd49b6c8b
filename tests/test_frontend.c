/*
 * Text frontend tests: sentences, normalization, IPA, ids, bad input, threads.
 *
 * What eSpeak NG 1.51 (en-us) gets wrong on its own, found with
 * `espeak-ng -q --ipa -v en-us "…"` and espeak_TextToPhonemes, and what the frontend says
 * instead (see frontend/normalize.c):
 *
 *   input                eSpeak NG alone                        frontend
 *   -------------------  -------------------------------------  ------------------------------
 *   $3.50                "dollar three point five zero"         three dollars and fifty cents
 *   $1 / $0.99           "dollar one" / "dollar zero point…"    one dollar / ninety-nine cents
 *   €20, £5              "euros twenty", "pound five"           twenty euros, five pounds
 *   $3.5 million, $5M    "dollar three point five million",     three point five million
 *                        "dollar five M"                        dollars, five million dollars
 *   3:05, 3:00           "three zero five", "three zero zero"   three oh five, three o'clock
 *   March 3, 2024        "March three, two thousand twenty      March third, twenty
 *                        four"                                  twenty-four
 *   2024-03-03           "two thousand twenty four dash zero    March third, twenty
 *                        three dash zero three"                 twenty-four
 *   12/25/2024, 1/2      "twelve slash twenty five slash …",    December twenty-fifth, …,
 *                        "one slash two"                        one half
 *   1999, 1905, 1066     "nineteen hundred ninety nine",        nineteen ninety-nine, nineteen
 *                        "nineteen hundred five", "one          oh five, ten sixty-six
 *                        thousand sixty six"
 *   1990s, 80s           "nineteen hundred ninety z",           nineteen nineties, eighties
 *                        "eighty z"
 *   555-1234             "five hundred fifty five dash one      five five five one two three
 *                        thousand …"                            four
 *   10-20, 10–20         "ten dash twenty", "ten twenty"        ten to twenty
 *   .5, 007              "dot five", "zero-zero seven"          point five, zero zero seven
 *   100,000th            "one hundred thousand th"              one hundred thousandth
 *   Dr. Smith, Mrs. X    right words, but the '.' ends the      Doctor Smith, Mrs X (no pause)
 *                        clause (a pause mid-name)
 *   Elm St., St. Louis   "saint" for both                       Elm Street, Saint Louis
 *   Ms., Mt., Jr., Sr.   "M S", "M T", "J R", "S R"             Miz, Mount, Junior, Senior
 *   vs., i.e.            "V S", "I E"                           versus, that is
 *   No. 5, #1            "no" + pause + "five", "hash one"      number five, number one
 *   5 km, 10 kg, 60 mph  "K M", "K G", "M P H"                  kilometers, kilograms, miles
 *                                                                per hour
 *   World War II,        "World War roman two",                 World War two, Henry the
 *   Henry VIII           "Henry roman eight"                    eighth
 *   https://www.x.com/p  "h t t p s colon slash slash w w w     w w w dot x dot com slash p
 *                        dot …"
 *   Hello... world, —    fine (clause breaks)                   pause token ";"
 *   what eSpeak NG gets right and is left to it: cardinals, decimals, 1,000,000, 45%,
 *   ordinals (1st, 22nd), acronyms (NASA spoken, FBI spelled), e-mail addresses, etc.,
 *   e.g., Mr., "pm", emoji names ("grinning face"), accented Latin letters.
 *   Other scripts: eSpeak NG switches language ("(hi)…(en-us)"); those stretches are left
 *   out, so Devanagari/Arabic/Korean words are silent. CJK is read "Chinese letter".
 */
#include "frontend/frontend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures;

#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            failures++;                                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                           \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
        }                                                                                  \
    } while (0)

/* ------------------------------------------------------------------ tables ---------- */

/* text → what the frontend hands eSpeak NG */
static const char *const normalize_cases[][2] = {
    {"1st 2nd 3rd 4th 11th 12th 13th 21st 22nd 100th",
     "first second third fourth eleventh twelfth thirteenth twenty-first twenty-second "
     "one hundredth"},
    {"$3.50", "three dollars and fifty cents"},
    {"$1", "one dollar"},
    {"$0.99", "ninety-nine cents"},
    {"$0.01", "one cent"},
    {"$1,250.75", "one thousand two hundred fifty dollars and seventy-five cents"},
    {"$5M", "five million dollars"},
    {"They raised $3.5 million", "They raised three point five million dollars"},
    {"\xE2\x82\xAC" "20", "twenty euros"},
    {"\xC2\xA3" "5", "five pounds"},
    {"\xC2\xA3" "1.50", "one pound and fifty pence"},
    {"20\xE2\x82\xAC", "twenty euros"},
    {"-$5", "minus five dollars"},
    {"3:45 pm", "three forty-five PM"},
    {"3:05", "three oh five"},
    {"3:00", "three o'clock"},
    {"at 3:00 p.m.", "at three PM."},
    {"10am", "ten AM"},
    {"14:30", "fourteen thirty"},
    {"March 3, 2024", "March third, twenty twenty-four"},
    {"2024-03-03", "March third, twenty twenty-four"},
    {"12/25/2024", "December twenty-fifth, twenty twenty-four"},
    {"3 March 2024", "the third of March twenty twenty-four"},
    {"Jan. 5", "January fifth"},
    {"Dr. Smith", "Doctor Smith"},
    {"We walked down Elm St. today", "We walked down Elm Street today"},
    {"We flew to St. Louis", "We flew to Saint Louis"},
    {"He lives on Oak Dr.", "He lives on Oak Drive."},
    {"Mr. and Mrs. Jones", "Mister and Mrs Jones"},
    {"Ms. Lee", "Miz Lee"},
    {"John Smith Jr. came", "John Smith Junior came"},
    {"Mt. Everest", "Mount Everest"},
    {"apples, pears, etc.", "apples, pears, etc."},
    {"e.g. this", "for example this"},
    {"i.e. that", "that is that"},
    {"cats vs. dogs", "cats versus dogs"},
    {"No. 5", "number five"},
    {"#1", "number one"},
    {"45%", "forty-five percent"},
    {"3.5%", "three point five percent"},
    {"1990s", "nineteen nineties"},
    {"the '80s", "the eighties"},
    {"1800s", "eighteen hundreds"},
    {"1999", "nineteen ninety-nine"},
    {"2000", "two thousand"},
    {"2005", "two thousand five"},
    {"1905", "nineteen oh five"},
    {"1066", "ten sixty-six"},
    {"1,000,000", "one million"},
    {"1234567", "one million two hundred thirty-four thousand five hundred sixty-seven"},
    {"3.14", "three point one four"},
    {".5", "point five"},
    {"007", "zero zero seven"},
    {"-5", "minus five"},
    {"555-1234", "five five five one two three four"},
    {"10-20", "ten to twenty"},
    {"10\xE2\x80\x93" "20", "ten to twenty"},
    {"1939-1945", "nineteen thirty-nine to nineteen forty-five"},
    {"1/2", "one half"},
    {"3/4", "three quarters"},
    {"2/3", "two thirds"},
    {"24/7", "twenty-four seven"},
    {"5 km", "five kilometers"},
    {"1 km", "one kilometer"},
    {"60 mph", "sixty miles per hour"},
    {"20\xC2\xB0" "C", "twenty degrees Celsius"},
    {"2.5GB", "two point five gigabytes"},
    {"World War II", "World War two"},
    {"Henry VIII", "Henry the eighth"},
    {"Chapter IV", "Chapter four"},
    {"I am here", "I am here"},
    {"https://www.example.com/path", "WWW dot example dot com slash path"},
    {"john.doe@example.org", "john dot doe at example dot org"},
    {"COVID-19", "COVID nineteen"},
    {"and/or", "and or"},
    {"mid-1990s", "mid nineteen nineties"},
    {"the U.S.A. team", "the USA team"},
    {"Hello... world", "Hello; world"},
    {"Wait\xE2\x80\x94what?", "Wait; what?"},
    {"\"Quoted,\" he said.", "Quoted, he said."},
    {"Tom & Jerry", "Tom and Jerry"},
    {"don\xE2\x80\x99t", "don't"},
    {"Yes!!! Really?!", "Yes! Really?"},
    {"", ""},
    {"  ...  ", ""},
};

/* text → IPA (eSpeak NG 1.51 en-us), checked by reading */
static const char *const ipa_cases[][2] = {
    {"Hello, world.", "həlˈoʊ, wˈɜːld."},
    {"In the house of the king.", "ɪnðə hˈaʊs ʌvðə kˈɪŋ."},
    {"He is 1st, she is 22nd and they are 103rd.",
     "hiː ɪz fˈɜːst, ʃiː ɪz twˈɛntisˈɛkənd ænd ðeɪ ɑːɹ wˈʌn hˈʌndɹɪd θˈɜːd."},
    {"It costs $3.50.", "ɪt kˈɔsts θɹˈiː dˈɑːlɚz ænd fˈɪfti sˈɛnts."},
    {"It costs \xE2\x82\xAC" "20 or \xC2\xA3" "5.",
     "ɪt kˈɔsts twˈɛnti jˈʊɹɹoʊz ɔːɹ fˈaɪv pˈaʊndz."},
    {"He paid $1 and $0.99.", "hiː pˈeɪd wˈʌn dˈɑːlɚ ænd nˈaɪntinˈaɪn sˈɛnts."},
    {"They raised $3.5 million.", "ðeɪ ɹˈeɪzd θɹˈiː pˈɔɪnt fˈaɪv mˈɪliən dˈɑːlɚz."},
    {"Meet me at 3:45 pm.", "mˈiːt mˌiː æt θɹˈiː fˈɔːɹɾifˈaɪv pˌiːˈɛm."},
    {"It is 3:05 now.", "ɪɾ ɪz θɹˈiː ˈoʊ fˈaɪv nˈaʊ."},
    {"Come at 3:00.", "kˈʌm æt θɹˈiː əklˈɑːk."},
    {"On March 3, 2024 we left.", "ˌɔn mˈɑːɹtʃ θˈɜːd, twˈɛnti twˈɛntifˈoːɹ wiː lˈɛft."},
    {"The date is 2024-03-03.", "ðə dˈeɪt ɪz mˈɑːɹtʃ θˈɜːd, twˈɛnti twˈɛntifˈoːɹ."},
    {"Dr. Smith lives on Elm St. near Mr. and Mrs. Jones.",
     "dˈɑːktɚ smˈɪθ lˈaɪvz ˌɔn ˈɛlm stɹˈiːt nˌɪɹ mˈɪstɚ ænd mˈɪsɪz dʒˈoʊnz."},
    {"Apples, pears, etc. are fruit, e.g. this, i.e. that, vs. them.",
     "ˈæpəlz, pˈɛɹz, ɛtsˈɛtɹə ɑːɹ fɹˈuːt, fɔːɹ ɛɡzˈæmpəl ðˈɪs, ðæt ɪz ðˈæt, vˈɜːsᵻz ðˌɛm."},
    {"NASA and the FBI.", "nˈæsɐ ænd ðɪ ˌɛfbˌiːˈaɪ."},
    {"Visit https://www.example.com/path today.",
     "vˈɪzɪt dˌʌbəljˌuːdˌʌbəljˌuːdˈʌbəljˌuː dˈɑːt ɛɡzˈæmpəl dˈɑːt kˈɑːm slˈæʃ pˈæθ tədˈeɪ."},
    {"Mail john.doe@example.org now.",
     "mˈeɪl dʒˈɑːn dˈɑːt dˈoʊ æɾ ɛɡzˈæmpəl dˈɑːt ˈɔːɹɡ nˈaʊ."},
    {"It rose 45% today.", "ɪt ɹˈoʊz fˈɔːɹɾifˈaɪv pɚsˈɛnt tədˈeɪ."},
    {"The 1990s were great.", "ðə nˈaɪntiːn nˈaɪntiz wɜː ɡɹˈeɪt."},
    {"In 1999 and 2005 and 2024.",
     "ɪn nˈaɪntiːn nˈaɪntinˈaɪn ænd tˈuː θˈaʊzənd fˈaɪv ænd twˈɛnti twˈɛntifˈoːɹ."},
    {"Call 555-1234.", "kˈɔːl fˈaɪv fˈaɪv fˈaɪv wˈʌn tˈuː θɹˈiː fˈoːɹ."},
    {"Read pages 10-20.", "ɹˈiːd pˈeɪdʒᵻz tˈɛn tə twˈɛnti."},
    {"World War II and Henry VIII.", "wˈɜːld wˈɔːɹ tˈuː ænd hˈɛnɹi ðɪ ˈeɪtθ."},
    {"Is it 5 km or 10 kg?", "ɪz ɪt fˈaɪv kɪlˈɑːmɪɾɚz ɔːɹ tˈɛn kˈɪləɡɹˌæmz?"},
    {"Wait... what?!", "wˈeɪt; wˌʌt?"},
    {"Ms. Lee met Prof. Brown at 10 a.m.", "mˈɪz lˈiː mˈɛt pɹəfˈɛsɚ bɹˈaʊn æt tˈɛn ˌeɪˈɛm."},
    {"One half is 1/2.", "wˈʌn hˈæf ɪz wˈʌn hˈæf."},
};

/* ------------------------------------------------------------------ helpers --------- */

/* Checks the invariants every phonemization must hold. */
static void check_phonemes(const tts_frontend *fe, const char *text, size_t len,
                           const tts_phonemes *ph)
{
    const tts_symtab *tab = tts_frontend_symbols(fe);
    int count = tts_symtab_count(tab);
    CHECK(ph->n_ids >= 2, "at least BOS and EOS for \"%.40s\"", text);
    if (ph->n_ids < 2)
        return;
    CHECK(ph->ids[0] == tts_symtab_special(tab, TTS_SYM_BOS), "first id is BOS");
    CHECK(ph->ids[ph->n_ids - 1] == tts_symtab_special(tab, TTS_SYM_EOS), "last id is EOS");
    /* the ipa string is exactly the symbols of the ids between BOS and EOS */
    size_t pos = 0;
    for (size_t i = 0; i < ph->n_ids; i++) {
        CHECK(ph->ids[i] >= 0 && ph->ids[i] < count, "id %d out of range [0,%d) in \"%.40s\"",
              (int)ph->ids[i], count, text);
        CHECK(ph->offsets[i] <= len, "offset %zu beyond %zu", ph->offsets[i], len);
        if (i == 0 || i + 1 == ph->n_ids)
            continue;
        const char *name = tts_symtab_name(tab, ph->ids[i]);
        CHECK(ph->ids[i] > TTS_SYM_EOS, "no pad/BOS/EOS inside");
        size_t k = name ? strlen(name) : 0;
        CHECK(name && pos + k <= ph->ipa_len && !memcmp(ph->ipa + pos, name, k),
              "ipa and ids disagree at id %zu in \"%.40s\"", i, text);
        pos += k;
    }
    CHECK(pos == ph->ipa_len && strlen(ph->ipa) == ph->ipa_len, "ipa length matches ids");
    for (size_t w = 0; w < ph->n_words; w++) {
        const tts_word *wd = &ph->words[w];
        CHECK(wd->offset + wd->length <= len && wd->length > 0, "word span inside the text");
        CHECK(wd->first_id >= 1 && wd->first_id + wd->n_ids <= ph->n_ids - 1 && wd->n_ids > 0,
              "word ids inside");
        if (w > 0)
            CHECK(wd->offset > ph->words[w - 1].offset, "words in order");
    }
}

static int phon(tts_frontend *fe, const char *text, size_t len, tts_phonemes *ph)
{
    tts_err err = {0};
    int rc = tts_frontend_phonemize(fe, text, len, ph, &err);
    CHECK(rc == 0, "phonemize \"%.60s\": %s", text, err.msg);
    if (!rc)
        check_phonemes(fe, text, len, ph);
    return rc;
}

/* ------------------------------------------------------------------ tests ----------- */

static void test_symbols(void)
{
    int n = tts_symbols_count();
    CHECK(n >= 50 && n < 200, "symbol count %d", n);
    CHECK(!strcmp(tts_symbol_name(0), "_") && !strcmp(tts_symbol_name(1), "^") &&
              !strcmp(tts_symbol_name(2), "$") && !strcmp(tts_symbol_name(3), " "),
          "specials at 0..3");
    const char *pauses[] = {",", ".", "?", "!", ";"};
    for (int p = 0; p < 5; p++)
        CHECK(!strcmp(tts_symbol_name(4 + p), pauses[p]), "pause %s at %d", pauses[p], 4 + p);
    CHECK(tts_symbol_name(-1) == NULL && tts_symbol_name(n) == NULL, "out of range → NULL");
    const char *must[] = {"ˈ", "ˌ", "ː", "ə", "ɪ", "ʊ", "ɹ", "θ", "ð", "ʃ", "ʒ", "ŋ", "ɚ",
                          "ɾ", "ᵻ", "æ", "ɑ", "ɔ", "ɛ", "ɜ", "ʌ", "ɡ"};
    tts_symtab *tab = NULL;
    tts_err err = {0};
    CHECK(tts_symtab_builtin(&tab, &err) == 0, "builtin table: %s", err.msg);
    if (!tab)
        return;
    for (size_t i = 0; i < sizeof must / sizeof *must; i++) {
        uint32_t cp = 0;
        const unsigned char *u = (const unsigned char *)must[i];
        cp = u[0] < 0xE0 ? ((u[0] & 0x1Fu) << 6) | (u[1] & 0x3Fu)
                         : ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu);
        int id = tts_symtab_id(tab, cp);
        CHECK(id > 8 && !strcmp(tts_symbol_name(id), must[i]), "symbol %s present", must[i]);
    }

    /* serialization round trip */
    size_t len = tts_symbols_serialize(NULL, 0);
    char *s = malloc(len + 1), *s2 = malloc(len + 1);
    CHECK(tts_symbols_serialize(s, len + 1) == len && strlen(s) == len, "serialize length");
    char small[8];
    CHECK(tts_symbols_serialize(small, sizeof small) == len && strlen(small) == 7,
          "serialize truncates like snprintf");
    tts_symtab *back = NULL;
    CHECK(tts_symtab_parse(&back, s, len, &err) == 0, "parse serialized: %s", err.msg);
    CHECK(tts_symtab_count(back) == n, "round-trip count");
    for (int i = 0; i < n; i++)
        CHECK(!strcmp(tts_symtab_name(back, i), tts_symbol_name(i)), "round-trip name %d", i);
    CHECK(tts_symtab_serialize(back, s2, len + 1) == len && !strcmp(s, s2),
          "re-serialized identical");
    tts_symtab_free(back);
    /* one trailing newline is fine */
    char *s3 = malloc(len + 2);
    memcpy(s3, s, len);
    s3[len] = '\n';
    CHECK(tts_symtab_parse(&back, s3, len + 1, &err) == 0 && tts_symtab_count(back) == n,
          "trailing newline accepted");
    tts_symtab_free(back);
    free(s3);

    /* bad tables */
    struct {
        const char *s;
        const char *why;
    } bad[] = {
        {"", "empty"},
        {"_\n^\n$\n \na\na", "duplicate"},
        {"_\n^\n$\n \nab", "two codepoints"},
        {"_\n^\n$\n \n\na", "empty line"},
        {"_\n^\n \na", "no EOS"},
        {"_\n^\n$\n \n\xff", "bad UTF-8"},
        {"_\n^\n$\n \n\t", "control character"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        back = (tts_symtab *)1;
        err.msg[0] = 0;
        int rc = tts_symtab_parse(&back, bad[i].s, strlen(bad[i].s), &err);
        CHECK(rc == TTS_E_FORMAT && back == NULL && err.msg[0], "bad table (%s) rejected",
              bad[i].why);
    }
    free(s);
    free(s2);
    tts_symtab_free(tab);
}

/* A model whose table has another order, or lacks symbols, maps with its own table. */
static void test_model_table(tts_frontend *fe)
{
    const char *text = "Hello, world. Three thirty.";
    tts_phonemes ref = {0}, other = {0};
    if (phon(fe, text, strlen(text), &ref))
        return;
    /* the built-in names in reverse order after the specials, without "ɹ" */
    int n = tts_symbols_count();
    char buf[1024];
    size_t k = 0;
    for (int i = 0; i < 4; i++)
        k += (size_t)sprintf(buf + k, "%s\n", tts_symbol_name(i));
    for (int i = n - 1; i >= 4; i--)
        if (strcmp(tts_symbol_name(i), "ɹ"))
            k += (size_t)sprintf(buf + k, "%s\n", tts_symbol_name(i));
    tts_err err = {0};
    CHECK(tts_frontend_set_symbols(fe, buf, k, &err) == 0, "set model table: %s", err.msg);
    CHECK(tts_symtab_count(tts_frontend_symbols(fe)) == n - 1, "model table in use");
    if (!phon(fe, text, strlen(text), &other)) {
        /* same IPA except the dropped ɹ, different ids */
        char expect[256];
        size_t e = 0, dropped = 0;
        for (const char *p = ref.ipa; *p;) {
            if (!strncmp(p, "ɹ", strlen("ɹ"))) {
                p += strlen("ɹ");
                dropped++;
                continue;
            }
            expect[e++] = *p++;
        }
        expect[e] = 0;
        CHECK(!strcmp(other.ipa, expect), "model-table IPA \"%s\" vs \"%s\"", other.ipa,
              expect);
        CHECK(dropped > 0 && other.n_ids == ref.n_ids - dropped,
              "%zu ɹ dropped (%zu vs %zu ids)", dropped, other.n_ids, ref.n_ids);
        int differ = 0;
        for (size_t i = 1; i + 1 < other.n_ids && i + 1 < ref.n_ids; i++)
            differ |= other.ids[i] != ref.ids[i];
        CHECK(differ, "ids follow the model's table");
    }
    tts_phonemes_free(&other);
    /* a broken model table is refused and the old one stays */
    CHECK(tts_frontend_set_symbols(fe, "a\na", 3, &err) == TTS_E_FORMAT, "bad model table");
    CHECK(tts_symtab_count(tts_frontend_symbols(fe)) == n - 1, "previous table kept");
    /* back to the built-in table */
    size_t len = tts_symbols_serialize(buf, sizeof buf);
    CHECK(tts_frontend_set_symbols(fe, buf, len, &err) == 0, "builtin back");
    if (!phon(fe, text, strlen(text), &other)) {
        CHECK(other.n_ids == ref.n_ids && !memcmp(other.ids, ref.ids, ref.n_ids * 4),
              "built-in ids again");
    }
    tts_phonemes_free(&other);
    tts_phonemes_free(&ref);
}

static void test_normalize(void)
{
    for (size_t i = 0; i < sizeof normalize_cases / sizeof *normalize_cases; i++) {
        const char *in = normalize_cases[i][0], *want = normalize_cases[i][1];
        char *got = NULL;
        tts_err err = {0};
        int rc = tts_frontend_normalize(in, strlen(in), &got, &err);
        CHECK(rc == 0 && got && !strcmp(got, want), "normalize \"%s\"\n   got  \"%s\"\n   want \"%s\"",
              in, got ? got : err.msg, want);
        free(got);
    }
}

static void test_ipa(tts_frontend *fe)
{
    for (size_t i = 0; i < sizeof ipa_cases / sizeof *ipa_cases; i++) {
        const char *in = ipa_cases[i][0], *want = ipa_cases[i][1];
        tts_phonemes ph = {0};
        if (phon(fe, in, strlen(in), &ph))
            continue;
        CHECK(!strcmp(ph.ipa, want), "IPA of \"%s\"\n   got  \"%s\"\n   want \"%s\"", in,
              ph.ipa, want);
        tts_phonemes_free(&ph);
    }
}

/* which word each phoneme belongs to, also where eSpeak NG merges words ("in the") */
static void test_word_offsets(tts_frontend *fe)
{
    const char *text = "I sat in the house on 2024-03-03, paying $3.50.";
    tts_phonemes ph = {0};
    if (phon(fe, text, strlen(text), &ph))
        return;
    struct {
        const char *word, *ipa;
    } want[] = {
        {"I", "aɪ"},         {"sat", "sˈæt"},  {"in", "ɪn"},
        {"the", "ðə"},       {"house", "hˈaʊs"}, {"on", "ˌɔn"},
        {"2024-03-03", "mˈɑːɹtʃ θˈɜːd, twˈɛnti twˈɛntifˈoːɹ"},
        {"paying", "pˈeɪɪŋ"}, {"$3.50", "θɹˈiː dˈɑːlɚz ænd fˈɪfti sˈɛnts"},
    };
    size_t nw = sizeof want / sizeof *want;
    CHECK(ph.n_words == nw, "%zu words, want %zu (ipa %s)", ph.n_words, nw, ph.ipa);
    for (size_t w = 0; w < ph.n_words && w < nw; w++) {
        const tts_word *wd = &ph.words[w];
        char got[256] = "";
        for (size_t i = wd->first_id; i < wd->first_id + wd->n_ids; i++)
            strcat(got, tts_symbol_name(ph.ids[i]));
        CHECK(wd->length == strlen(want[w].word) &&
                  !memcmp(text + wd->offset, want[w].word, wd->length),
              "word %zu is \"%.*s\", want \"%s\"", w, (int)wd->length, text + wd->offset,
              want[w].word);
        CHECK(!strcmp(got, want[w].ipa), "word \"%s\" speaks \"%s\", want \"%s\"",
              want[w].word, got, want[w].ipa);
        for (size_t i = wd->first_id; i < wd->first_id + wd->n_ids; i++)
            CHECK(ph.offsets[i] == wd->offset, "per-id offset of \"%s\"", want[w].word);
    }
    CHECK(ph.offsets[0] == 0 && ph.offsets[ph.n_ids - 1] == strlen(text), "BOS/EOS offsets");
    tts_phonemes_free(&ph);
}

static int count_sentences(const char *text, size_t len, size_t *offs, size_t *lens, int max)
{
    tts_sentence_iter it;
    tts_err err = {0};
    if (tts_sentences_begin(&it, text, len, &err))
        return -1;
    size_t o, l;
    int n = 0;
    while (tts_sentences_next(&it, &o, &l)) {
        if (n < max) {
            offs[n] = o;
            lens[n] = l;
        }
        n++;
    }
    return n;
}

static void test_sentences(void)
{
    struct {
        const char *text;
        int n;
        const char *first, *last;
    } cases[] = {
        {"Dr. Smith went home. He slept.", 2, "Dr. Smith went home.", "He slept."},
        {"Mr. and Mrs. Jones arrived at 5 p.m. Then they left.", 2,
         "Mr. and Mrs. Jones arrived at 5 p.m.", "Then they left."},
        {"He lives on Elm St. The house is red.", 2, "He lives on Elm St.",
         "The house is red."},
        {"We love St. Patrick. Yes.", 2, "We love St. Patrick.", "Yes."},
        {"It costs $3.50 today. Pi is 3.14159!", 2, "It costs $3.50 today.",
         "Pi is 3.14159!"},
        {"Really?! Yes... and no. \"Quoted.\" End", 4, "Really?!", "End"},
        {"John F. Kennedy spoke. Fruit, e.g. apples, etc. are good.", 2,
         "John F. Kennedy spoke.", "Fruit, e.g. apples, etc. are good."},
        {"Wait... Then what?", 2, "Wait...", "Then what?"},
        {"Heading without a stop\n\nFirst line\nsame sentence.", 2,
         "Heading without a stop", "First line\nsame sentence."},
        {"  \t\r\n  ", 0, NULL, NULL},
        {"", 0, NULL, NULL},
        {"... !!! ?? -- \xE2\x80\x94 ()", 0, NULL, NULL},
        {"One.\x01\x02Two.", 2, "One.", "Two."}, /* control bytes are white space */
        {"One. \x01\x02 Two.", 2, "One.", "Two."},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        size_t offs[16], lens[16];
        const char *t = cases[c].text;
        int n = count_sentences(t, strlen(t), offs, lens, 16);
        CHECK(n == cases[c].n, "\"%s\": %d sentences, want %d", t, n, cases[c].n);
        if (n != cases[c].n || n == 0)
            continue;
        CHECK(lens[0] == strlen(cases[c].first) && !memcmp(t + offs[0], cases[c].first, lens[0]),
              "\"%s\": first sentence \"%.*s\"", t, (int)lens[0], t + offs[0]);
        CHECK(lens[n - 1] == strlen(cases[c].last) &&
                  !memcmp(t + offs[n - 1], cases[c].last, lens[n - 1]),
              "\"%s\": last sentence \"%.*s\"", t, (int)lens[n - 1], t + offs[n - 1]);
    }
    /* NULL text of length 0 is empty */
    tts_sentence_iter it;
    tts_err err = {0};
    size_t o, l;
    CHECK(tts_sentences_begin(&it, NULL, 0, &err) == 0 && !tts_sentences_next(&it, &o, &l),
          "NULL, 0 → no sentences");
}

static void test_invalid_utf8(tts_frontend *fe)
{
    struct {
        const char *text;
        size_t len;
        size_t bad;
    } cases[] = {
        {"abc\xff", 4, 3},
        {"ok \xC0\xAF overlong", 13, 3},
        {"surrogate \xED\xA0\x80", 13, 10},
        {"cut \xE2\x82", 6, 4},
        {"big \xF4\x90\x80\x80", 8, 4},
        {"\x80", 1, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char want[64];
        snprintf(want, sizeof want, "byte offset %zu", cases[c].bad);
        tts_err err = {0};
        tts_sentence_iter it;
        int rc = tts_sentences_begin(&it, cases[c].text, cases[c].len, &err);
        CHECK(rc == TTS_E_INVALID && strstr(err.msg, want), "sentences: case %zu: %d \"%s\"",
              c, rc, err.msg);
        size_t o, l;
        CHECK(!tts_sentences_next(&it, &o, &l), "no sentences after invalid UTF-8");
        tts_phonemes ph = {0};
        err.msg[0] = 0;
        rc = tts_frontend_phonemize(fe, cases[c].text, cases[c].len, &ph, &err);
        CHECK(rc == TTS_E_INVALID && strstr(err.msg, want) && ph.ids == NULL,
              "phonemize: case %zu: %d \"%s\"", c, rc, err.msg);
        char *norm = NULL;
        rc = tts_frontend_normalize(cases[c].text, cases[c].len, &norm, &err);
        CHECK(rc == TTS_E_INVALID && norm == NULL, "normalize: case %zu", c);
    }
}

/* a and b (NUL-terminated) phonemize to the same IPA */
static void check_same_ipa(tts_frontend *fe, const char *a, const char *b, const char *what)
{
    tts_phonemes pa = {0}, pb = {0};
    if (!phon(fe, a, strlen(a), &pa) && !phon(fe, b, strlen(b), &pb))
        CHECK(!strcmp(pa.ipa, pb.ipa), "%s: \"%s\" vs \"%s\"", what, pa.ipa, pb.ipa);
    tts_phonemes_free(&pa);
    tts_phonemes_free(&pb);
}

/* Indic digits and signs: eSpeak NG 1.51 reads freed memory on them (fuzz_frontend's
 * find); the wrapper reads the digits as ASCII digits and blanks the rest of those blocks */
static void test_indic_guard(tts_frontend *fe)
{
    check_same_ipa(fe, "Room \xE0\xA7\xA7\xE0\xA7\xA8 now.", /* Bengali 1 2 */
                   "Room twelve now.", "Bengali digits read as a number");
    /* the inputs that crashed it (Bengali numerator and currency signs, Tamil, Gurmukhi,
     * Gujarati, Kannada, Malayalam digits), between English words */
    const char *c = "one \xE0\xA7\xB8 \xE0\xA7\xB3 \xE0\xA7\xBB two \xE0\xAF\xA7 "
                    "\xE0\xA9\xA7 \xE0\xAB\xA7 \xE0\xB3\xA7 \xE0\xB5\xA7 three";
    tts_phonemes pc = {0};
    if (!phon(fe, c, strlen(c), &pc))
        CHECK(pc.n_words >= 3, "English words around Indic signs kept: %zu words", pc.n_words);
    tts_phonemes_free(&pc);
    /* Hangul jamo U+11E5 and Georgian U+10C7 read freed memory too (under ASan); Korean
     * and Georgian words are dropped as before, the English kept */
    check_same_ipa(fe,
                   "one \xE1\x87\xA5 two \xE1\x83\x87 three "
                   "\xEC\x95\x88\xEB\x85\x95 \xE1\x83\x92\xE1\x83\x90 four",
                   "one two three four", "Hangul and Georgian dropped");
}

/* Long tokens overflowed a stack buffer inside eSpeak NG ("stack smashing detected",
 * an abort in any build): "a." and 170 letters, 125 dot-separated letters, and the
 * input fuzz_frontend found in CI */
static void test_long_tokens(tts_frontend *fe)
{
    char t[600];
    size_t n = 0;
    t[n++] = 'a';
    t[n++] = '.';
    for (int i = 0; i < 300; i++)
        t[n++] = 'B';
    t[n] = 0;
    tts_phonemes ph = {0};
    CHECK(phon(fe, t, n, &ph) == TTS_OK && ph.n_ids > 2, "\"a.\" + 300 letters phonemized");
    tts_phonemes_free(&ph);
    n = 0;
    for (int i = 0; i < 250; i++) {
        t[n++] = (char)('a' + i % 26);
        t[n++] = '.';
    }
    t[n] = 0;
    CHECK(phon(fe, t, n, &ph) == TTS_OK && ph.n_ids > 2, "250 dotted letters phonemized");
    tts_phonemes_free(&ph);
    n = (size_t)snprintf(t, sizeof t, "\xD0\x82.");
    for (int i = 0; i < 58; i++)
        t[n++] = 'S';
    for (int i = 0; i < 186; i++)
        t[n++] = 'B';
    n += (size_t)snprintf(t + n, sizeof t - n, "SSSSS Hl");
    CHECK(phon(fe, t, n, &ph) == TTS_OK && ph.n_ids > 2, "fuzz_frontend's long token");
    tts_phonemes_free(&ph);
}

static void test_control_bytes(tts_frontend *fe)
{
    const char a[] = "Hello\x01world\x7f and\x1b[31m red\0 text\x0b now!";
    const char b[] = "Hello world and [31m red text now!";
    tts_phonemes pa = {0}, pb = {0};
    if (!phon(fe, a, sizeof a - 1, &pa) && !phon(fe, b, sizeof b - 1, &pb))
        CHECK(!strcmp(pa.ipa, pb.ipa), "control bytes are spaces: \"%s\" vs \"%s\"", pa.ipa,
              pb.ipa);
    tts_phonemes_free(&pa);
    tts_phonemes_free(&pb);
    /* only control bytes and NULs */
    const char c[] = "\x01\x02\0\x1f\x7f";
    size_t o[4], l[4];
    CHECK(count_sentences(c, sizeof c - 1, o, l, 4) == 0, "control-only text: no sentences");
    if (!phon(fe, c, sizeof c - 1, &pa))
        CHECK(pa.n_ids == 2 && pa.ipa_len == 0, "control-only text: BOS EOS");
    tts_phonemes_free(&pa);
}

static void test_emoji_and_scripts(tts_frontend *fe)
{
    const char *texts[] = {
        "I \xE2\x9D\xA4\xEF\xB8\x8F pizza \xF0\x9F\x98\x80\xF0\x9F\x8E\x89!",
        "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",
        "Hello \xE0\xA4\xA8\xE0\xA4\xAE\xE0\xA4\xB8\xE0\xA5\x8D\xE0\xA4\xA4\xE0\xA5\x87 world.",
        "\xE6\x9D\xB1\xE4\xBA\xAC and \xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7 and "
        "\xD0\x9C\xD0\xBE\xD1\x81\xD0\xBA\xD0\xB2\xD0\xB0.",
        "\xEA\xB0\x88 \xCE\x95\xCE\xBB\xCE\xBB\xCE\xAC\xCE\xB4\xCE\xB1 \xE2\x88\x91 \xE2\x84\x83",
        "caf\xC3\xA9 na\xC3\xAFve Z\xC3\xBCrich",
        "\xEF\xBB\xBF\xE2\x80\x8B\xE2\x80\xAE zero width \xF3\xA0\x80\x81 tags",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        tts_phonemes ph = {0};
        phon(fe, texts[i], strlen(texts[i]), &ph);
        tts_phonemes_free(&ph);
    }
    /* the emoji is spoken the way eSpeak NG names it, the Devanagari word is left out */
    tts_phonemes ph = {0};
    if (!phon(fe, texts[2], strlen(texts[2]), &ph))
        CHECK(!strcmp(ph.ipa, "həlˈoʊ wˈɜːld."), "other script left out: %s", ph.ipa);
    tts_phonemes_free(&ph);
}

/* deterministic 100 KB text: sentences, numbers, abbreviations, paragraphs, emoji, and
 * one long run without any punctuation */
static char *make_big_text(size_t target, size_t *len)
{
    static const char *const parts[] = {
        "The quick brown fox jumps over the lazy dog.",
        "Dr. Smith paid $%d.%02d for %d apples on March %d, 20%02d.",
        "It was %d:%02d pm when Mr. and Mrs. Jones left for St. Louis!",
        "Is %d%% of %d really that much?",
        "He said, \"I'll be there at %d a.m.\" and left.",
        "Visit https://example.com/page%d or write to info@example.org.",
        "The %dth runner finished in %d.%d seconds \xF0\x9F\x98\x80.",
        "Wait... what happened in the %d0s?",
        "\n\n",
        "Call %d-%04d today; it's free.",
        "World War II ended in 1945, and Henry VIII had six wives.",
    };
    size_t cap = target + 8192, n = 0;
    char *s = malloc(cap);
    unsigned x = 12345;
    int long_run_done = 0;
    while (n < target) {
        x = x * 1103515245u + 12345u;
        if (!long_run_done && n > target / 2) {
            /* ~3000 bytes with no sentence punctuation at all */
            for (int w = 0; w < 500; w++)
                n += (size_t)snprintf(s + n, cap - n, "%s ", w % 7 ? "words" : "and more");
            long_run_done = 1;
            continue;
        }
        const char *p = parts[(x >> 16) % (sizeof parts / sizeof *parts)];
        int a = (int)((x >> 8) % 100), b = (int)((x >> 4) % 60), c = (int)(x % 28) + 1;
        n += (size_t)snprintf(s + n, cap - n, p, a, b, c, c, b);
        n += (size_t)snprintf(s + n, cap - n, " ");
    }
    *len = n;
    return s;
}

static void test_big_text(tts_frontend *fe)
{
    size_t len;
    char *text = make_big_text(100 * 1024, &len);
    tts_sentence_iter it;
    tts_err err = {0};
    CHECK(tts_sentences_begin(&it, text, len, &err) == 0, "begin: %s", err.msg);
    size_t o, l, prev_end = 0, count = 0, max_len = 0, ids = 0;
    int bad_gap = 0;
    clock_t t0 = clock();
    while (tts_sentences_next(&it, &o, &l)) {
        CHECK(o >= prev_end && l > 0 && o + l <= len, "sentence %zu in order", count);
        /* nothing speakable between sentences */
        for (size_t i = prev_end; i < o; i++) {
            char ch = text[i];
            if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
                bad_gap = 1;
        }
        if (l > max_len)
            max_len = l;
        tts_phonemes ph = {0};
        if (!phon(fe, text + o, l, &ph)) {
            /* memory per sentence is bounded by the sentence */
            CHECK(ph.n_ids <= 12 * l + 16, "%zu ids for %zu bytes", ph.n_ids, l);
            ids += ph.n_ids;
        }
        tts_phonemes_free(&ph);
        prev_end = o + l;
        count++;
    }
    for (size_t i = prev_end; i < len; i++)
        if ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= '0' && text[i] <= '9'))
            bad_gap = 1;
    CHECK(!bad_gap, "every word of the text is in some sentence");
    CHECK(max_len <= TTS_SENTENCE_MAX_BYTES, "longest sentence %zu bytes", max_len);
    CHECK(count > 1000, "%zu sentences", count);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("100 KB: %zu sentences, longest %zu bytes, %zu ids, %.2f s CPU\n", count, max_len,
           ids, secs);
    free(text);
}

/* The limit crossed by the text's last character (fuzz_frontend found a 403-byte
 * sentence: 399 bytes, then a 4-byte emoji) or by a closing run of dots */
static void test_limit_at_the_end(void)
{
    char t[TTS_SENTENCE_MAX_BYTES + 16];
    const char *tails[] = {"\xF0\x9F\x98\x80", "...", "?!\xE2\x80\xA6\xE2\x80\xA6"};
    for (size_t k = 0; k < sizeof tails / sizeof *tails; k++)
        for (size_t body = TTS_SENTENCE_MAX_BYTES - 4; body <= TTS_SENTENCE_MAX_BYTES; body++) {
            memset(t, 'a', body);
            size_t n = body + (size_t)snprintf(t + body, sizeof t - body, "%s", tails[k]);
            size_t offs[8], lens[8], letters = 0;
            int ns = count_sentences(t, n, offs, lens, 8);
            for (int i = 0; i < ns && i < 8; i++) {
                CHECK(lens[i] <= TTS_SENTENCE_MAX_BYTES, "tail %zu, body %zu: sentence of %zu bytes",
                      k, body, lens[i]);
                for (size_t j = 0; j < lens[i]; j++)
                    letters += t[offs[i] + j] == 'a';
            }
            /* a piece of dots alone is not a sentence: only the letters must all be read */
            CHECK(ns >= 1 && letters == body, "tail %zu, body %zu: %zu of %zu letters read", k, body,
                  letters, body);
        }
}

static void test_huge_word(tts_frontend *fe)
{
    const size_t n = 10000;
    char *w = malloc(n + 1);
    for (int kind = 0; kind < 3; kind++) {
        unsigned x = 7;
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            w[i] = kind == 0 ? 'a' : kind == 1 ? (char)('a' + (x >> 16) % 26)
                                               : (char)('0' + (x >> 16) % 10);
        }
        w[n] = 0;
        size_t offs[64], lens[64];
        int ns = count_sentences(w, n, offs, lens, 64);
        CHECK(ns >= (int)(n / TTS_SENTENCE_MAX_BYTES) && ns <= 64, "huge word: %d pieces", ns);
        size_t covered = 0;
        for (int s = 0; s < ns && s < 64; s++) {
            CHECK(lens[s] <= TTS_SENTENCE_MAX_BYTES, "piece %d: %zu bytes", s, lens[s]);
            covered += lens[s];
            tts_phonemes ph = {0};
            phon(fe, w + offs[s], lens[s], &ph);
            tts_phonemes_free(&ph);
        }
        CHECK(covered == n, "pieces cover the word (%zu of %zu)", covered, n);
        /* and the whole word at once, as one "sentence" */
        tts_phonemes ph = {0};
        phon(fe, w, n, &ph);
        tts_phonemes_free(&ph);
    }
    /* a 10,000-character word of a multi-byte letter is cut on codepoint boundaries */
    char *u = malloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        u[2 * i] = '\xC3';
        u[2 * i + 1] = '\xA9';
    }
    u[2 * n] = 0;
    tts_sentence_iter it;
    tts_err err = {0};
    size_t o, l;
    tts_sentences_begin(&it, u, 2 * n, &err);
    while (tts_sentences_next(&it, &o, &l)) {
        CHECK(o % 2 == 0 && l % 2 == 0, "cut inside a codepoint at %zu+%zu", o, l);
        tts_phonemes ph = {0};
        phon(fe, u + o, l, &ph);
        tts_phonemes_free(&ph);
    }
    free(u);
    free(w);
}

static void test_empty(tts_frontend *fe)
{
    const char *texts[] = {"", "   ", "...", "\"\"", "-- ; :"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        tts_phonemes ph = {0};
        if (!phon(fe, texts[i], strlen(texts[i]), &ph))
            CHECK(ph.n_ids == 2 && ph.ipa_len == 0 && ph.n_words == 0,
                  "\"%s\" has no phonemes (%zu ids)", texts[i], ph.n_ids);
        tts_phonemes_free(&ph);
    }
    tts_phonemes ph = {0};
    tts_err err = {0};
    CHECK(tts_frontend_phonemize(fe, NULL, 0, &ph, &err) == 0 && ph.n_ids == 2, "NULL, 0");
    tts_phonemes_free(&ph);
    tts_phonemes_free(NULL);
    CHECK(tts_frontend_phonemize(fe, NULL, 5, &ph, &err) == TTS_E_INVALID, "NULL, 5");
}

static void test_format(tts_frontend *fe)
{
    FILE *f = tmpfile();
    tts_err err = {0};
    const char *text = "Hello, world. It costs $3.50.";
    CHECK(tts_frontend_format(fe, text, strlen(text), f, &err) == 0, "format: %s", err.msg);
    char buf[4096];
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    CHECK(strstr(buf, "sentence 1 (bytes 0-13): Hello, world.\n") != NULL, "format line 1:\n%s",
          buf);
    CHECK(strstr(buf, "  ipa: həlˈoʊ, wˈɜːld.\n") != NULL, "format ipa:\n%s", buf);
    CHECK(strstr(buf, "  ids: 1 ") != NULL && strstr(buf, " 2\n") != NULL, "format ids");
    CHECK(strstr(buf, "sentence 2 (bytes 14-29): It costs $3.50.\n  ipa: ɪt kˈɔsts θɹˈiː "
                      "dˈɑːlɚz ænd fˈɪfti sˈɛnts.\n") != NULL,
          "format sentence 2:\n%s", buf);
    fclose(f);
    f = tmpfile();
    CHECK(tts_frontend_format(fe, "bad \xff", 5, f, &err) == TTS_E_INVALID &&
              strstr(err.msg, "offset 4"),
          "format of invalid UTF-8: %s", err.msg);
    fclose(f);
    /* a stream that cannot be written */
    f = fopen("/dev/null", "r");
    if (f) {
        CHECK(tts_frontend_format(fe, text, strlen(text), f, &err) == TTS_E_IO,
              "write error reported");
        fclose(f);
    }
}

static void test_open_errors(void)
{
    tts_frontend *fe = (tts_frontend *)1;
    tts_err err = {0};
    int rc = tts_frontend_open(&fe, "no-such-voice-xyz", &err);
    CHECK(rc == TTS_E_FRONTEND && fe == NULL && strstr(err.msg, "no-such-voice-xyz"),
          "unknown voice: %d %s", rc, err.msg);
    rc = tts_frontend_open(&fe, "", &err);
    CHECK(rc == TTS_E_INVALID && fe == NULL, "empty voice name");
    tts_frontend_close(NULL);
}

/* ------------------------------------------------------------------ threads --------- */

#define N_THREAD_TEXTS (sizeof ipa_cases / sizeof *ipa_cases + sizeof normalize_cases / sizeof *normalize_cases)

typedef struct {
    int reverse;
    int mismatches;
    int errors;
    tts_phonemes *ref;
} thread_arg;

static const char *thread_text(size_t i)
{
    size_t ni = sizeof ipa_cases / sizeof *ipa_cases;
    return i < ni ? ipa_cases[i][0] : normalize_cases[i - ni][0];
}

static void *thread_main(void *p)
{
    thread_arg *a = p;
    tts_frontend *fe;
    tts_err err = {0};
    if (tts_frontend_open(&fe, NULL, &err)) {
        a->errors++;
        return NULL;
    }
    for (int round = 0; round < 3; round++) {
        for (size_t k = 0; k < N_THREAD_TEXTS; k++) {
            size_t i = a->reverse ? N_THREAD_TEXTS - 1 - k : k;
            const char *t = thread_text(i);
            tts_phonemes ph = {0};
            if (tts_frontend_phonemize(fe, t, strlen(t), &ph, &err)) {
                a->errors++;
                continue;
            }
            if (ph.n_ids != a->ref[i].n_ids ||
                memcmp(ph.ids, a->ref[i].ids, ph.n_ids * sizeof *ph.ids) ||
                memcmp(ph.offsets, a->ref[i].offsets, ph.n_ids * sizeof *ph.offsets))
                a->mismatches++;
            tts_phonemes_free(&ph);
        }
    }
    tts_frontend_close(fe);
    return NULL;
}

static void test_threads(tts_frontend *fe)
{
    tts_phonemes *ref = calloc(N_THREAD_TEXTS, sizeof *ref);
    for (size_t i = 0; i < N_THREAD_TEXTS; i++)
        phon(fe, thread_text(i), strlen(thread_text(i)), &ref[i]);
    thread_arg args[2] = {{0, 0, 0, ref}, {1, 0, 0, ref}};
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        CHECK(pthread_create(&th[t], NULL, thread_main, &args[t]) == 0, "pthread_create");
    for (int t = 0; t < 2; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < 2; t++)
        CHECK(args[t].errors == 0 && args[t].mismatches == 0,
              "thread %d: %d errors, %d results differ from one thread's", t, args[t].errors,
              args[t].mismatches);
    for (size_t i = 0; i < N_THREAD_TEXTS; i++)
        tts_phonemes_free(&ref[i]);
    free(ref);
}

int main(void)
{
    test_symbols();
    test_normalize();
    test_sentences();
    test_open_errors();

    tts_frontend *fe = NULL;
    tts_err err = {0};
    int rc = tts_frontend_open(&fe, NULL, &err);
    CHECK(rc == 0, "open en-us: %s", err.msg);
    if (fe) {
        test_ipa(fe);
        test_word_offsets(fe);
        test_model_table(fe);
        test_invalid_utf8(fe);
        test_control_bytes(fe);
    test_indic_guard(fe);
    test_long_tokens(fe);
    test_limit_at_the_end();
        test_emoji_and_scripts(fe);
        test_empty(fe);
        test_format(fe);
        test_huge_word(fe);
        test_big_text(fe);
        test_threads(fe);
        tts_frontend_close(fe);
    }
    if (failures) {
        fprintf(stderr, "test_frontend: %d failures\n", failures);
        return 1;
    }
    printf("test_frontend: all passed\n");
    return 0;
}
