// Shared GoogleTest fixtures for the transformer tests: a generated +
// quantised model, and config helpers (on tests/model_fixtures.h).
// Header-only (tests/*.cc include it).
#ifndef TERN_TESTS_TFM_FIXTURES_H
#define TERN_TESTS_TFM_FIXTURES_H

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "model_fixtures.h"
#include "tern/tfm.h"
#include "tern/tfm_int.h"

namespace tern_test {

inline tern_tfm_config PresetConfig(const char *name) { return PresetOf<tern_tfm_config>(name); }

inline tern_tfm_config ParseConfig(const std::string &text) {
  return ParseOk<tern_tfm_config>(text);
}

// Seeded weights (tern_tfm_generate) and their integer quantisation.
struct QModel {
  tern_tfm_model m;
  tern_tfm_qmodel q;
  bool ok = false;
  explicit QModel(const tern_tfm_config &c) { Init(c); }
  explicit QModel(const char *preset) { Init(PresetConfig(preset)); }
  ~QModel() {
    tern_tfm_qmodel_free(&q);
    tern_tfm_free(&m);
  }
  QModel(const QModel &) = delete;
  QModel &operator=(const QModel &) = delete;

 private:
  void Init(const tern_tfm_config &c) {
    std::memset(&m, 0, sizeof m);
    std::memset(&q, 0, sizeof q);
    char err[512];
    if (tern_tfm_generate(&c, &m, 0, err, sizeof err)) {
      ADD_FAILURE() << err;
      return;
    }
    if (tern_tfm_quantize(&m, &q, err, sizeof err)) {
      ADD_FAILURE() << err;
      return;
    }
    ok = true;
  }
};

}  // namespace tern_test

#endif
