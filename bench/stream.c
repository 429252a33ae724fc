// STREAM-like memory bandwidth probe (copy, scale, add, triad) for the planner's
// CPU row. Method after McCalpin's STREAM (https://www.cs.virginia.edu/stream/):
// arrays far larger than the last-level cache, best of N repetitions, bytes
// counted as STREAM counts them (triad: 3 arrays x 8 B per element, no
// write-allocate traffic). Prints one JSON object on stdout.
//
// Build and run through bench/stream.sh; usage: stream [n_elements] [n_reps].
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char** argv) {
  long n = argc > 1 ? atol(argv[1]) : 16L * 1024 * 1024;  // 128 MiB per array
  int reps = argc > 2 ? atoi(argv[2]) : 10;
  double* a = aligned_alloc(64, (size_t)n * sizeof(double));
  double* b = aligned_alloc(64, (size_t)n * sizeof(double));
  double* c = aligned_alloc(64, (size_t)n * sizeof(double));
  if (!a || !b || !c) {
    fprintf(stderr, "stream: out of memory for 3 x %ld doubles\n", n);
    return 1;
  }
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) {  // first touch by the thread that will use the page
    a[i] = 1.0;
    b[i] = 2.0;
    c[i] = 0.0;
  }
  const double s = 3.0;
  double best[4] = {1e30, 1e30, 1e30, 1e30};
  for (int r = 0; r < reps; ++r) {
    double t = now_s();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i) c[i] = a[i];
    double t1 = now_s();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i) b[i] = s * c[i];
    double t2 = now_s();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i) c[i] = a[i] + b[i];
    double t3 = now_s();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
    double t4 = now_s();
    double d[4] = {t1 - t, t2 - t1, t3 - t2, t4 - t3};
    for (int k = 0; k < 4; ++k)
      if (d[k] < best[k]) best[k] = d[k];
  }
  const double bytes[4] = {16.0 * n, 16.0 * n, 24.0 * n, 24.0 * n};
  printf(
      "{\"threads\": %d, \"n_elements\": %ld, \"reps\": %d, \"copy_gbs\": %.2f, "
      "\"scale_gbs\": %.2f, \"add_gbs\": %.2f, \"triad_gbs\": %.2f, \"check\": %.1f}\n",
      omp_get_max_threads(), n, reps, bytes[0] / best[0] / 1e9, bytes[1] / best[1] / 1e9,
      bytes[2] / best[2] / 1e9, bytes[3] / best[3] / 1e9, a[n / 2]);
  free(a);
  free(b);
  free(c);
  return 0;
}
