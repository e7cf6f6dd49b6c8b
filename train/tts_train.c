/* tts-train: prepares a corpus and trains the models of a libtts voice. */
#include <stdio.h>
#include <string.h>

#include "train/blas_core.h"
#include "train/train.h"
#include "tts.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tts-train COMMAND ...\n"
            "\n"
            "  prepare CORPUS_DIR OUT.ltd     phonemes + log-mel cache of an LJSpeech-style corpus\n"
            "                                 (metadata.csv with id|text, wav/ID.wav)\n"
            "  acoustic OUT.ltd RUN_DIR       train the acoustic model; resumes RUN_DIR/ckpt.ltm\n"
            "      --steps N --batch B --minutes M --lr LR --warmup N --threads T\n"
            "      --init MODEL.ltm (no checkpoint yet: start from a shipped model's weights)\n"
            "      --layer-dropout P --dropout P (conv inputs / teacher-forced frames)\n"
            "      --hard-mining M (score 2M utterances, back-propagate the hardest M)\n"
            "      --post-ch C (post-net channels) --r R --self-feed P (share of steps fed\n"
            "      the model's own previous step) --attn-sharpen A (attention logits x A)\n"
            "      --delta-weight W (add W x L1 of the frames' frame-to-frame changes)\n"
            "      --var-weight W (add W x (log of their mean size / the recording's)^2)\n"
            "      --gv-weight W (add W x (log of the mel-cepstrum's variance over the\n"
            "      speech / the recording's)^2, c1..c24: the spectral detail)\n"
            "      --pitch C (a pitch predictor of C channels and a pitch embedding)\n"
            "      --pitch-weight W (its loss's weight, default 0.1) --pitch-dropout P\n"
            "      --adv-weight A --fm-weight F (a critic of frames, train/disc.h: A x its\n"
            "      LSGAN term + F x feature matching; RUN_DIR/critic.ltm) --disc-lr LR\n"
            "      --disc-warmup N (steps the critic learns alone first, default 200)\n"            "      --d D --text-ch C (a new model's widths) --self-feed-passes N\n"
            "      --ckpt-every N --val-every N (steps)\n"
            "  vocoder OUT.ltd RUN_DIR        train the neural vocoder on the cache's waveforms; resumes\n"
            "      --steps N --batch B --minutes M --crop F --ctx F --lr LR --threads T --wav-every N\n"
            "      --tf-mels TF.ltm --tf-mix P (fine-tune: share P of crops on teacher-forced mels)\n"
            "      --tf-extrapolate A (training crops: recorded + A (predicted - recorded))\n"
            "      --init OLD.ltm (no checkpoint yet: start from an older vocoder's weights)\n"
            "      --src 1|2 (new model's source: 1 noise; 2 + harmonic excitation (default);\n"
            "      with --init: the old model's unless given; a new channel starts at 0)\n"
            "      --pitch-weight W (weight of the pitch head's loss, default 1)\n"
            "      --tf-pitch (crops on --tf-mels: the excitation follows the pitch head's F0\n"
            "      and voicing read from those frames, as at inference; default: the\n"
            "      recording's)\n"
            "      --mel-weight W (add W x log-mel L1 of the output against the frames it is\n"
            "      given, recorded or predicted; default 0)\n"
            "      --tf-stft-weight W (crops on --tf-mels: weight of the STFT loss against\n"
            "      the recording, and of the pitch head's loss on its F0; default 1)\n"
            "      --ema D (also keep a moving average of the weights, decay D, e.g. 0.999:\n"
            "      RUN/ema.ltm, best_ema.ltm)\n"
            "      --tf-sharpen A W (crops on --tf-mels sharpened as the shipped vocoder does)\n"
            "      --adv-weight W --fm-weight W --disc-lr LR --disc-warmup N --disc-periods\n"
            "      (adversarial training with critics; RUN/disc.ltm)\n"
            "      --fold F --res-ch C --skip-ch C --layers N --dil-cycle N --cond-ch C\n"
            "      --lookahead F (a new model's shape) --ckpt-every N --val-every N\n"
            "  pitch CKPT.ltm CACHE.ltd OUT.ltm  the pitch predictor fitted alone, the rest of the\n"
            "      voice fixed --ctx (reading the phonemes and their prosodic context) --epochs N\n"
            "      --batch B --lr LR --wd W --dropout P --pitch-ch C --reinit --seed S\n"
            "      --ensemble M (M predictors merged into one) --absolute (targets not about each\n"
            "      take's mean)\n"
            "  tfmels MODEL.ltm OUT.ltd TF.ltm the acoustic model's teacher-forced mels of every\n"
            "                                 utterance (for fine-tuning the vocoder)\n"
            "  export IN.ltm OUT.ltm          checkpoint -> shipped voice (half floats)\n"
            "      --meta KEY=VALUE (the voice's name, language, speaker, license, corpus,\n"
            "      training: what tts --list-voices shows; a re-export keeps the input's)\n"
            "      a voice: --int8 (8-bit weights) --holds CACHE.ltd [--hold-pct P\n"
            "      --hold-min-count N] --stand-ins CACHE.ltd --pitch-range R --gv CACHE.ltd\n"
            "      [--gv-amount A] --attn-sharpen A --average OTHER.ltm (repeatable)\n"
            "      a vocoder: --env-passes N --frame-sharpen A W\n"
            "  eval MODEL.ltm CACHE.ltd OUTDIR [SENTENCES.txt] [--vocoder VOC.ltm]\n"
            "                                 validation metrics, attention failures, WAVs for WER\n"
            "  quality EVAL_DIR [LABEL=GLOB ...] melody, spectral detail, periodicity, MCD, F0\n"
            "                                 of an eval folder's WAVs against the recordings\n"
            "  plot OUT.png A.wav [B.wav ...] spectrograms one above the other, then their F0\n"
            "                                 contours over each other (white, orange, cyan, ...)\n"
            "  synth MODEL.ltm TEXT OUT.wav   free-running synthesis with Griffin-Lim, and the\n"
            "                                 attention as OUT.wav.png\n");
}

int main(int argc, char **argv)
{
    tr_blas_check_core(argv);
    tr_blas_route_gemm();
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tts-train %s\n", tts_version());
        return 0;
    }
    if (!strcmp(argv[1], "prepare"))
        return train_prepare_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "acoustic"))
        return train_acoustic_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "vocoder"))
        return train_vocoder_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "tfmels"))
        return train_tfmels_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "pitch"))
        return train_pitch_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "export"))
        return train_export_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "eval"))
        return train_eval_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "plot"))
        return train_plot_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "quality"))
        return train_quality_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "synth"))
        return train_synth_main(argc - 2, argv + 2);
    fprintf(stderr, "tts-train: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
