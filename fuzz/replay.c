/* Replays fuzz inputs through a libFuzzer harness without libFuzzer, so
 * that make check re-runs every corpus file and saved crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(uint8_t const *data, size_t size);
int main(int argc, char **argv);

int main(int argc, char **argv)
{
  int n = 0;
  for (int i = 1; i < argc; i++) {
    FILE *f = fopen(argv[i], "rb");
    if (!f) { perror(argv[i]); return 111; }
    uint8_t *buf = malloc(1 << 20);
    if (!buf) return 111;
    size_t len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    n++;
  }
  /* An empty input too: every harness must accept it. */
  LLVMFuzzerTestOneInput((uint8_t const *)"", 0);
  fprintf(stderr, "replayed %d inputs\n", n);
  return 0;
}
