// `tern fidelity` argument parsing (runtime/run.c tern_cli_parse).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tern/runtime.h"

namespace {
int Parse(std::vector<const char *> args, tern_cli *cli, std::string *err) {
  char e[512] = "";
  args.insert(args.begin(), "tern");
  int rc = tern_cli_parse((int)args.size(), const_cast<char **>(args.data()), cli, e, sizeof e);
  *err = e;
  return rc;
}
}  // namespace

TEST(CliFidelity, ParsesModelAndPrompts) {
  tern_cli cli;
  std::string err;
  ASSERT_EQ(Parse({"fidelity", "tiny", "--prompts", "3"}, &cli, &err), 0) << err;
  EXPECT_EQ(cli.cmd, TERN_CMD_FIDELITY);
  EXPECT_STREQ(cli.in, "tiny");
  EXPECT_EQ(cli.prompts, 3);
  ASSERT_EQ(Parse({"fidelity", "mobilellm-125m"}, &cli, &err), 0) << err;
  EXPECT_EQ(cli.prompts, 8);
}

TEST(CliFidelity, BadArguments) {
  tern_cli cli;
  std::string err;
  EXPECT_NE(Parse({"fidelity"}, &cli, &err), 0);
  EXPECT_NE(err.find("MODEL is required"), std::string::npos) << err;
  EXPECT_NE(Parse({"fidelity", "tiny", "--prompts", "9"}, &cli, &err), 0);
  EXPECT_NE(err.find("--prompts"), std::string::npos) << err;
  EXPECT_NE(err.find("1..8"), std::string::npos) << err;
  EXPECT_NE(Parse({"fidelity", "tiny", "--tokens", "3"}, &cli, &err), 0);
  EXPECT_NE(err.find("--tokens"), std::string::npos) << err;
  EXPECT_NE(Parse({"fidelity", "tiny", "other"}, &cli, &err), 0);
  EXPECT_NE(err.find("other"), std::string::npos) << err;
}
