package io.raftoral.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.raftoral.api.LocalCluster;
import io.raftoral.api.RaftoralNode;
import io.raftoral.common.WorkflowStatus;
import io.raftoral.security.CertificateAuthority;
import io.raftoral.security.Role;
import io.raftoral.security.TokenFile;
import io.raftoral.workflow.WorkflowDefinition;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console's sign-in in a real browser (headless chromium, as {@link ConsoleBrowserTest}) on
 * an embedded node whose HTTP port speaks HTTPS and wants bearer tokens (docs/SECURITY.md): the
 * first 401 asks for a token, a wrong one is refused with the node's reason, a reader's shows the
 * workflows but its terminate is refused for its role, signing out and in with an operator's
 * token terminates. A node without tokens shows the console as before, without a sign-in.
 */
class ConsoleSignInBrowserTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Path SCREENSHOTS = Path.of("target", "console-screenshots");

  @TempDir
  static Path dir;

  private static RaftoralNode secured;
  private static RaftoralNode open;
  private static String reader;
  private static String operator;
  private static WebDriver browser;

  static WorkflowDefinition<String, String> waitForever() {
    return WorkflowDefinition.of("wait", 1, String.class, String.class, (ctx, in) -> {
      ctx.checkpointCompute("sleep", String.class, () -> {
        Thread.sleep(Long.MAX_VALUE);
        return "never";
      });
      return in;
    });
  }

  @BeforeAll
  static void start() throws IOException {
    for (String tool : List.of("/usr/bin/chromium", "/usr/bin/chromedriver")) {
      if (!new File(tool).canExecute()) {
        throw new IllegalStateException(tool + " is missing: install Debian's chromium and chromium-driver (.ci/run does)");
      }
    }
    Files.createDirectories(SCREENSHOTS);
    Path certs = dir.resolve("certs");
    CertificateAuthority.init(certs);
    Path tokens = dir.resolve("tokens");
    reader = TokenFile.create(tokens, Role.READER);
    operator = TokenFile.create(tokens, Role.OPERATOR);
    secured = RaftoralNode.builder().nodeId(1).members(LocalCluster.freeAddresses(1)).electionTimeout(Duration.ofMillis(500))
        .dataDir(dir.resolve("secured-node")).tlsCert(certs.resolve("node.pem")).tlsKey(certs.resolve("node-key.pem")).authTokens(tokens)
        .httpAddress("127.0.0.1:0").register(waitForever()).start();
    open = RaftoralNode.builder().nodeId(1).members(LocalCluster.freeAddresses(1)).electionTimeout(Duration.ofMillis(500))
        .dataDir(dir.resolve("open-node")).httpAddress("127.0.0.1:0").register(waitForever()).start();

    ChromeOptions options = new ChromeOptions();
    options.setBinary("/usr/bin/chromium");
    // The node's certificate is of the test's own CA.
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--window-size=1400,1000", "--ignore-certificate-errors");
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File("/usr/bin/chromedriver")).usingAnyFreePort().build();
    browser = new ChromeDriver(service, options);
  }

  @AfterAll
  static void stop() {
    if (browser != null) {
      browser.quit();
    }
    if (secured != null) {
      secured.close();
    }
    if (open != null) {
      open.close();
    }
  }

  @Test
  void aTokenIsAskedForKeptForTheTabAndItsRoleDecides() throws Exception {
    secured.start("wait", 1, "x", String.class, "held-signin");
    browser.get("https://" + secured.httpAddress() + "/console/");
    waitFor(d -> !d.findElements(By.id("signin-form")).isEmpty());
    assertThat(browser.findElements(By.id("signout"))).isEmpty();
    assertThat(browser.findElements(By.id("signin-reason"))).as("no complaint before a token was tried").isEmpty();
    shot("signin-01-form");

    signIn("rft_0000abcd_" + "A".repeat(43));
    waitFor(d -> text("signin-reason").contains("is not one of this node's tokens"));
    assertThat(text("signin-reason")).doesNotContain("A".repeat(43));
    shot("signin-02-wrong-token");

    signIn(reader);
    waitFor(d -> !d.findElements(By.cssSelector("tr[data-workflow-id='held-signin']")).isEmpty());
    assertThat(browser.findElements(By.id("signout"))).hasSize(1);
    assertThat(((JavascriptExecutor) browser).executeScript("return sessionStorage.getItem('raftoral.token')")).isEqualTo(reader);
    shot("signin-03-reader");

    browser.findElement(By.cssSelector("tr[data-workflow-id='held-signin']")).click();
    waitFor(d -> text("detail-status").equals("RUNNING"));
    browser.findElement(By.id("terminate-button")).click();
    browser.findElement(By.id("terminate-reason")).sendKeys("from the browser");
    browser.findElement(By.id("terminate-confirm")).click();
    waitFor(d -> text("terminate-error").contains("Your token's role may not do this"));
    shot("signin-04-reader-may-not-terminate");
    browser.findElement(By.id("terminate-cancel")).click();
    assertThat(secured.describe("held-signin").status()).isEqualTo(WorkflowStatus.RUNNING);

    browser.findElement(By.id("signout")).click();
    waitFor(d -> !d.findElements(By.id("signin-form")).isEmpty());
    assertThat(((JavascriptExecutor) browser).executeScript("return sessionStorage.getItem('raftoral.token')")).isNull();
    signIn(operator);
    waitFor(d -> text("detail-status").equals("RUNNING"));
    browser.findElement(By.id("terminate-button")).click();
    browser.findElement(By.id("terminate-reason")).sendKeys("from the browser");
    browser.findElement(By.id("terminate-confirm")).click();
    waitFor(d -> text("detail-status").equals("TERMINATED"));
    shot("signin-05-operator-terminated");
    assertThat(secured.describe("held-signin").status()).isEqualTo(WorkflowStatus.TERMINATED);
  }

  @Test
  void aNodeWithoutTokensShowsTheConsoleWithoutASignIn() throws Exception {
    open.start("wait", 1, "x", String.class, "held-open");
    browser.get("http://" + open.httpAddress() + "/console/");
    waitFor(d -> !d.findElements(By.cssSelector("tr[data-workflow-id='held-open']")).isEmpty());
    assertThat(browser.findElements(By.id("signin-form"))).isEmpty();
    assertThat(browser.findElements(By.id("signout"))).isEmpty();
  }

  private static void signIn(String token) {
    WebElement field = browser.findElement(By.id("signin-token"));
    field.clear();
    field.sendKeys(token);
    browser.findElement(By.id("signin-submit")).click();
  }

  private static String text(String id) {
    List<WebElement> found = browser.findElements(By.id(id));
    return found.isEmpty() ? "" : found.get(0).getText();
  }

  private static void waitFor(Function<WebDriver, Boolean> condition) throws IOException {
    try {
      new WebDriverWait(browser, WAIT).ignoring(org.openqa.selenium.StaleElementReferenceException.class).until(condition::apply);
    } catch (org.openqa.selenium.TimeoutException e) {
      shot("signin-failed-" + System.currentTimeMillis());
      Files.writeString(SCREENSHOTS.resolve("signin-failed-page.html"), browser.getPageSource(), StandardCharsets.UTF_8);
      throw e;
    }
  }

  private static void shot(String name) throws IOException {
    Files.write(SCREENSHOTS.resolve(name + ".png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
  }
}
