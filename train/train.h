/* tts-train subcommands. Each takes the arguments after its name; returns the exit code. */
#ifndef TTS_TRAIN_TRAIN_H
#define TTS_TRAIN_TRAIN_H

int train_prepare_main(int argc, char **argv);
int train_acoustic_main(int argc, char **argv);
int train_synth_main(int argc, char **argv);
int train_eval_main(int argc, char **argv);
int train_quality_main(int argc, char **argv);
int train_plot_main(int argc, char **argv);
int train_export_main(int argc, char **argv);
int train_vocoder_main(int argc, char **argv);
int train_tfmels_main(int argc, char **argv);
int train_pitch_main(int argc, char **argv);

#endif
