# Homebrew formula for iamdb, built from the git checkout this file is in (its committed HEAD):
#   brew install --HEAD --formula ./packaging/homebrew/iamdb.rb
#   brew services start iamdb        # `iamdb refresh --watch` as a launchd agent
# It installs the same files as the .deb, the RPM and the PKGBUILD.
class Iamdb < Formula
  desc "AWS RDS/Aurora IAM auth tokens, cached in the keyring and fed to psql and mysql"
  license any_of: ["MIT", "Apache-2.0"]
  head "file://#{File.expand_path("../..", __dir__)}", using: :git

  depends_on "rust" => :build

  def install
    system "cargo", "install", *std_cargo_args
    system "cargo", "install", *std_cargo_args(path: "crates/iamdb-credentials")
    bin.install "shell/psql-iam", "shell/mysql-iam"
    man1.install Dir["packaging/man/*.1"]
    bash_completion.install "shell/completions/iamdb.bash" => "iamdb"
    zsh_completion.install "shell/completions/_iamdb"
    fish_completion.install "shell/completions/iamdb.fish"
    inreplace "packaging/systemd/iamdb-refresh.service", "/usr/bin/iamdb", "#{opt_bin}/iamdb"
    (lib/"systemd/user").install "packaging/systemd/iamdb-refresh.service"
    doc.install "README.md"
  end

  # The launchd agent of packaging/launchd, for `brew services`.
  service do
    run [opt_bin/"iamdb", "refresh", "--watch"]
    keep_alive successful_exit: false
    process_type :background
  end

  test do
    assert_match version.to_s, shell_output("#{bin}/iamdb --version")
    ENV["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE"
    ENV["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    token = shell_output("#{bin}/iamdb token --no-cache --host db.c1.eu-west-1.rds.amazonaws.com " \
                         "--engine postgres --user app")
    assert_match "Action=connect&DBUser=app", token
  end
end
