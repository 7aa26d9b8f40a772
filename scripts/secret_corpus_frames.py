"""Hand-written support mail for scripts/make-secret-corpora.py.

Each frame is (subject, body); `{s}` is where the generated secret goes (for API frames `{k}`
is the key and `{s}` the secret; combined frames use `{p}` password, `{o}` code, `{w}` phrase,
`{x}` key). Literal braces are doubled. People, addresses and numbers are made up.
"""

# ruff: noqa: E501  (email text: a line is as long as the sentence)
from __future__ import annotations

Frame = tuple[str, str]

PASSWORD_STEMS = {
    "en": [
        "Sunflower",
        "hunter",
        "Tr0ub4dor&",
        "correcthorse",
        "Liverpool",
        "mydog_rex",
        "BlueSky",
        "P@ssw0rd",
        "qwerty",
        "Maria.",
        "satoshi",
        "Winter",
    ],
    "ko": [
        "qwer",
        "tkfkd",
        "dlsxo",
        "zmffhqk",
        "haneul",
        "minji",
        "asdf",
        "rlawlgns",
        "sarang",
        "gksrmf",
    ],
    "zh": [
        "woaini",
        "zhang",
        "abc",
        "lilei",
        "Wang.",
        "xiaoming",
        "aa",
        "hello.zh",
        "qq",
        "Beijing",
    ],
    "ja": [
        "sakura",
        "Tokyo",
        "hikari",
        "neko_",
        "yamada",
        "pass.jp",
        "Fuji",
        "tanaka",
        "momo",
        "Osaka",
    ],
}

PHRASE: dict[str, list[Frame]] = {
    "en": [
        (
            "Wallet restore not working",
            "Hi,\n\nI'm trying to restore my wallet in your app and it keeps saying the phrase "
            "is invalid. This is exactly what I wrote down when I set it up:\n\n{s}\n\nCan you "
            "check what I'm doing wrong? I have about 1.2 ETH in there.\n\nThanks, Paul",
        ),
        ("seed", "{s}\n\nsent from my iphone"),
        (
            "URGENT - lost access",
            "My phone died and I only have the backup card. Here are the words in order:\n{s}\n"
            "Please restore my account ASAP, I need to sell before the weekend.",
        ),
        (
            "Re: Your ticket MB-004211",
            "Hello again,\n\nyou asked for more details to verify ownership. My recovery phrase "
            "is below, I hope this proves it's mine.\n\n{s}\n\nBest regards\nAnna Kowalski",
        ),
        (
            "question about backup",
            "Is it safe to keep the seed words in a notes app? Right now they're just in my "
            "email drafts:\n\n{s}\n\nor should I print them? cheers",
        ),
        (
            "Help!! funds missing",
            "Somebody took everything from my wallet overnight. I never shared my words with "
            "anyone except your support agent on Telegram yesterday who asked for them: {s} "
            "-- was that really you??",
        ),
        (
            "Import wallet",
            "Dear support team,\nI would like to import an existing wallet into the exchange "
            "app. The 'mnemonic' field does not accept my phrase. Phrase: {s}\nKind regards,\n"
            "Dr. H. Okafor",
        ),
        ("", "can u recover this\n{s}\nthx"),
    ],
    "ko": [
        (
            "지갑 복구가 안 됩니다",
            "안녕하세요.\n앱에서 지갑 복구를 하려는데 계속 '유효하지 않은 문구'라고 나옵니다.\n"
            "처음 만들 때 적어둔 복구 문구 그대로 입력했어요.\n\n{s}\n\n뭐가 잘못된 건지 "
            "확인 부탁드립니다. 감사합니다.",
        ),
        (
            "시드 구문 확인 요청",
            "고객센터 담당자님,\n제 시드 구문이 맞는지 확인해 주실 수 있을까요?\n{s}\n"
            "종이에 적어둔 거라 글씨가 헷갈려서요.",
        ),
        (
            "급합니다 계정 복구",
            "폰을 잃어버려서 백업해둔 단어로 복구하려고 합니다\n{s}\n빨리 좀 부탁드려요 "
            "코인 시세 떨어지고 있어요",
        ),
        (
            "Re: [문의번호 230918] 본인 확인",
            "말씀하신 본인 확인용으로 니모닉 보내드립니다.\n\n{s}\n\n이걸로 확인 가능할까요?\n"
            "김민수 드림",
        ),
        ("", "복구 단어 {s} 이거 맞나요?"),
        (
            "텔레그램 상담원이 요청해서 보냅니다",
            "어제 텔레그램으로 상담해 주신 분이 지갑 검증에 필요하다고 해서 보냅니다: {s}\n"
            "혹시 이게 정상적인 절차인가요? 좀 불안해서 메일로도 여쭤봅니다.",
        ),
        (
            "지갑 가져오기 오류",
            "지갑 가져오기 화면에서 아래 단어들을 입력하면 오류가 납니다.\n\n{s}\n\n"
            "스크린샷도 첨부했어요.",
        ),
    ],
    "ja": [
        (
            "ウォレットの復元ができません",
            "お世話になっております。\nアプリでウォレットを復元しようとしていますが、"
            "「無効なフレーズ」と表示されます。\n作成時に控えた復元フレーズは以下の通りです。\n\n"
            "{s}\n\nご確認のほどよろしくお願いいたします。\n山本",
        ),
        (
            "シードの確認",
            "紙に書いたシードが合っているか見ていただけますか。\n{s}\n字が汚くて自信がありません。",
        ),
        (
            "至急：アカウント復旧",
            "スマホを紛失しました。バックアップの単語で復旧したいです。\n{s}\n"
            "できるだけ早くお願いします。",
        ),
        (
            "Re: 本人確認について",
            "ご依頼の本人確認のため、リカバリーフレーズをお送りします。\n\n{s}\n\n"
            "これで確認できますでしょうか。\n佐藤 花子",
        ),
        ("", "これで復元できますか？\n{s}"),
        (
            "サポートの方に言われたので",
            "昨日LINEでサポートの方から、ウォレット検証のために必要と言われました：{s}\n"
            "これは正規の手続きでしょうか。念のためメールでも確認させてください。",
        ),
        (
            "ウォレットのインポート",
            "ウォレットのインポート画面で下記の単語を入力するとエラーになります。\n{s}\n"
            "原因を教えてください。",
        ),
    ],
    "zh": [
        (
            "钱包恢复失败",
            "您好，\n我在APP里恢复钱包，一直提示助记词无效。\n这是我创建钱包时抄下来的：\n\n{s}\n\n"
            "麻烦帮我看看哪里不对，谢谢！",
        ),
        ("助记词确认", "客服你好，能帮我确认一下这组助记词对不对吗\n{s}\n纸上的字有点看不清"),
        ("急！账户恢复", "手机丢了，只有当时备份的词，请尽快帮我恢复：\n{s}\n币价在跌，拜托了"),
        (
            "回复：身份验证",
            "按照你们的要求，把助记词发过来做身份验证：\n\n{s}\n\n这样可以证明是我本人了吧？\n"
            "王先生",
        ),
        ("錢包匯入錯誤", "您好，匯入錢包時輸入以下助記詞會出現錯誤：\n{s}\n請協助確認，謝謝。"),
        ("", "这个能恢复吗\n{s}"),
        (
            "客服让我发的",
            "昨天微信上的客服说验证钱包需要这个：{s}\n这是正常流程吗？有点担心，所以发邮件确认一下。",
        ),
    ],
}

# Chinese phrases written without spaces: people who do this say what it is.
DENSE_PHRASE: dict[str, list[Frame]] = {
    "zh": [
        ("助记词问题", "你好，我的助记词：{s}\n导入的时候一直报错，怎么办？"),
        ("恢复钱包", "我备份的助记词如下\n{s}\n请帮我恢复钱包，谢谢"),
        ("錢包助記詞", "您好，這是我的助記詞：\n{s}\n請問為什麼無法匯入？"),
        ("急", "钱包里的币不见了，我的种子词是\n{s}\n是不是被盗了"),
    ],
}

KEY: dict[str, list[Frame]] = {
    "en": [
        (
            "Import private key",
            "Hi, can I import this key into my exchange wallet? {s}\nIt's from an old paper "
            "wallet from 2017.",
        ),
        (
            "Sweep paper wallet",
            "Hello,\n\nI found an old paper wallet. The printed key reads:\n\n{s}\n\nHow do I "
            "move the coins to my account here?\n\nBest,\nTom",
        ),
        (
            "Electrum export",
            "Exported this from Electrum as you asked:\n{s}\nplease tell me when the funds show up",
        ),
        ("", "{s}"),
        (
            "Ledger backup question",
            "Is it normal that my watch-only wallet shows this master key? {s} -- I thought "
            "Ledger never shows it.",
        ),
    ],
    "ko": [
        (
            "개인키 가져오기 문의",
            "안녕하세요. 아래 키를 거래소 지갑으로 가져올 수 있나요?\n{s}\n"
            "2017년에 만든 종이지갑입니다.",
        ),
        ("종이지갑", "예전 종이지갑에서 찾은 키입니다 {s} 이걸로 코인 옮길 수 있나요"),
        ("", "{s}\n\n이거 확인 좀 해주세요"),
        (
            "일렉트럼에서 내보낸 키",
            "말씀하신 대로 일렉트럼에서 내보냈습니다.\n\n{s}\n\n입금되면 알려주세요.",
        ),
    ],
    "ja": [
        (
            "秘密鍵のインポート",
            "こんにちは。下記のキーを取引所のウォレットに取り込めますか。\n{s}\n"
            "2017年に作ったペーパーウォレットです。",
        ),
        (
            "ペーパーウォレット",
            "古いペーパーウォレットが出てきました。{s}\nここから送金できますか。",
        ),
        ("", "{s}\nこれ確認してください"),
        (
            "エクスポートしました",
            "ご指示の通りエクスポートしました：\n\n{s}\n\n着金したら教えてください。",
        ),
    ],
    "zh": [
        ("导入私钥", "你好，这个能导入到交易所钱包吗？\n{s}\n是2017年的纸钱包。"),
        ("纸钱包", "翻到一个以前的纸钱包，上面的是 {s} 怎么把币转出来"),
        ("", "{s}\n帮我看下"),
        ("匯出的金鑰", "依照您的指示匯出了：\n\n{s}\n\n到帳後請通知我。"),
    ],
}

HEX_KEY: dict[str, list[Frame]] = {
    "en": [
        (
            "MetaMask account",
            "I exported the private key from MetaMask as your agent asked: "
            "{s}\nPlease confirm the account is safe.",
        ),
        ("Wallet import failed", "Private Key:\n{s}\n\nImport says 'invalid key'. Why?"),
        ("priv key", "my priv key is {s} can you move the USDT from it, I lost my phone"),
        (
            "Recovering old ETH wallet",
            "Hello,\nthis is the raw key of my old ETH wallet (hex private key, no 0x I think): "
            "{s}\nI'd like to deposit from it.",
        ),
    ],
    "ko": [
        (
            "메타마스크 개인키",
            "상담원분이 요청하셔서 메타마스크 개인키 보냅니다: {s}\n계정 안전한지 확인 부탁드려요.",
        ),
        ("지갑 가져오기 실패", "개인키: {s}\n가져오기 하면 '잘못된 키'라고 나와요."),
        ("", "{s} 이게 제 프라이빗 키인데 코인 좀 옮겨주세요"),
        ("비밀키 확인", "지갑 비밀키 {s} 맞는지 봐주세요"),
    ],
    "ja": [
        (
            "MetaMaskの秘密鍵",
            "担当の方に言われたのでMetaMaskの秘密鍵を送ります：{s}\nアカウントが安全か確認してください。",
        ),
        ("インポート失敗", "プライベートキー：\n{s}\nインポートすると無効と出ます。"),
        ("", "{s} が秘密鍵です。資金を移してもらえますか"),
    ],
    "zh": [
        ("MetaMask私钥", "客服让我发的，MetaMask私钥：{s}\n请确认账户是否安全。"),
        ("导入失败", "私钥：\n{s}\n导入提示无效，为什么？"),
        ("私鑰確認", "這是我錢包的私鑰 {s} 請幫忙確認"),
    ],
}

PASSWORD: dict[str, list[Frame]] = {
    "en": [
        (
            "Can't log in",
            "Hi, I can't log in since this morning. My password is {s} and "
            "I'm sure it's correct. Username is m.jones. Please check.",
        ),
        (
            "login",
            "email: dave.r@example.net\npassword: {s}\ncan you log in and check why "
            "my withdrawal is stuck",
        ),
        (
            "Account locked",
            "Hello,\n\nmy account got locked after the update. For "
            "verification: the password I set was {s} (case sensitive).\n\nRegards, Lin",
        ),
        (
            "Re: verify ownership",
            "As requested, my login details:\nUser: kpatel88\nPassword: {s}\n"
            "\nPlease hurry, I have an open position.",
        ),
        (
            "new password not accepted",
            "I changed it yesterday, the new password is now {s} "
            "but the app still says invalid credentials.",
        ),
        ("", "pw: {s}\npls check my acc"),
        (
            "Trading password",
            "What is the trading password for? I set it to {s} during "
            "sign-up, is that the one you mean?",
        ),
        (
            "Help with 2FA reset",
            "For the 2FA reset form you asked for my current password. "
            "It is '{s}'. I hope email is secure enough.",
        ),
        ("Fund password", "fund password was {s} but the withdrawal page keeps rejecting it"),
        (
            "Locked out",
            "Hi support, the password for my account is {s} and it doesn't work "
            "anymore. Did someone change it?",
        ),
        ("Login details", "Username: lee_w\nPwd: {s}\nThe site says my account is frozen."),
        ("Access", "Hi,\nmy passcode is {s} and the app keeps asking me to re-enter it.\nThanks"),
    ],
    "ko": [
        (
            "로그인이 안 돼요",
            "안녕하세요. 아침부터 로그인이 안 됩니다. 비밀번호는 {s} 이고 "
            "확실히 맞습니다. 확인 부탁드립니다.",
        ),
        ("계정 잠김", "아이디: kimjh_trade\n비밀번호: {s}\n이걸로 로그인해서 확인 좀 해주세요"),
        ("비번 확인", "제 비번 {s} 맞는데 왜 틀렸다고 나오죠?"),
        ("출금 비밀번호", "출금 비밀번호는 {s} 입니다. 출금이 계속 거절돼요."),
        ("", "로그인 비번 {s} 이에요 빨리 확인해주세요"),
        (
            "본인 확인 자료",
            "요청하신 본인 확인 정보입니다.\n이메일: jh.kim@example.kr\n"
            "패스워드 : {s}\n감사합니다.",
        ),
        (
            "비밀번호 변경 후 로그인 불가",
            "어제 비밀번호를 {s} 로 바꿨는데 새 비밀번호로 로그인이 "
            "안 됩니다. 제 비밀번호가 {s}인데 뭐가 문제일까요?",
        ),
        ("거래 비밀번호 문의", "거래 비밀번호는 {s}로 설정했는데 주문할 때마다 오류가 나요."),
        ("암호", "지갑 암호는 {s} 입니다. 잠금 해제가 안 돼요."),
        ("계정 확인 요청", "상담원님 말씀대로 비번 보내드려요\n{s}\n빨리 처리 부탁드려요"),
        ("로그인 오류", "로그인 할 때 비밀번호 {s} 입력하면 계속 오류가 떠요."),
        ("급해요", "비밀번호는 '{s}' 입니다 계정 좀 풀어주세요"),
    ],
    "zh": [
        ("无法登录", "你好，今天早上开始登录不了。我的密码是{s}，肯定没错，麻烦查一下。"),
        ("账号被锁", "账号：wang_88\n密码：{s}\n请帮我登录看看为什么提币卡住了"),
        ("资金密码", "资金密码为{s}，提币一直提示错误。"),
        ("", "登录密码 {s} 帮我看看"),
        ("身份验证", "按照客服要求提供验证信息：\n手机：138****6612\n登录密码：{s}\n谢谢"),
        ("密碼問題", "您好，我的密碼是 {s} 但是一直顯示錯誤，請協助。"),
        ("修改密码后无法登录", "昨天把密码改成了{s}，但是用新密码登录不了，我的密码是{s}没错啊。"),
        ("交易密码", "交易密码 {s} 下单的时候总是报错"),
        ("帐户冻结", "我的密码是「{s}」，请尽快解冻账户"),
        ("客服要的", "客服说要密码才能查，那我发一下：{s}"),
        ("钱包密码", "钱包密码是 {s}，解锁不了"),
        ("登录失败", "用户名 li_lei\n密碼：{s}\n一直登录失败"),
    ],
    "ja": [
        (
            "ログインできません",
            "お世話になっております。今朝からログインできません。"
            "パスワードは{s}で間違いないはずです。ご確認ください。",
        ),
        ("アカウントロック", "ID: yamada_t\nパスワード：{s}\nこれでログインして確認してください。"),
        ("", "パスワード {s} で合ってるのに入れない"),
        (
            "本人確認",
            "ご依頼の本人確認情報です。\nメール：t.yamada@example.jp\n"
            "ログインパスワード：{s}\nよろしくお願いします。",
        ),
        (
            "パスワード変更後",
            "昨日パスワードを{s}に変更しましたが、ログインできません。パスワードは「{s}」です。",
        ),
        ("出金パスワード", "出金パスワードは {s} です。出金が拒否されます。"),
        ("確認のお願い", "サポートの方に言われたのでパスワードを送ります：{s}"),
        ("ロック解除", "パスワードは{s}です。至急ロックを解除してください。"),
        ("ログインエラー", "ログイン時にパスワード「{s}」を入力するとエラーになります。"),
        ("アカウント", "パスコードは{s}です。アプリが毎回聞いてきます。"),
        ("至急", "パスワード: {s}\n早く確認お願いします"),
        ("資金パスワード", "資金用のパスワードは{s}にしています。合っていますか？"),
    ],
}

OTP: dict[str, list[Frame]] = {
    "en": [
        (
            "2FA not accepted",
            "The Google Authenticator code {s} is rejected every time, "
            "my phone time is set to automatic.",
        ),
        (
            "verification code",
            "I got the verification code {s} by SMS but the page expired before I could enter it.",
        ),
        (
            "Re: your call",
            "Your colleague on the phone asked me to read out the code, so "
            "here it is again: the code is {s}",
        ),
        ("OTP", "OTP: {s}\nplease process my withdrawal now"),
        ("2FA", "Hi, my 2FA code is {s}, can you log in for me and cancel the order?"),
        (
            "Withdrawal confirmation",
            "Email confirmation code: {s}. I'm stuck on the withdrawal confirmation screen.",
        ),
        ("SMS code", "SMS code {s} doesn't work, it says invalid."),
        ("login code", "Here's the one-time code you asked for: {s}"),
        ("", "authenticator code is {s} hurry pls"),
    ],
    "ko": [
        ("인증번호 오류", "문자로 받은 인증번호 {s} 입력했는데 틀렸다고 나와요."),
        ("OTP 문의", "구글 OTP {s} 넣어도 계속 실패합니다."),
        ("", "인증번호는 {s} 입니다 빨리 처리해주세요"),
        ("상담원 요청", "전화 주신 상담원분이 인증코드 불러달라고 하셔서요. 인증코드: {s}"),
        ("출금 인증", "출금 인증번호 {s} 받았는데 시간이 초과됐다고 나옵니다."),
        ("OTP", "OTP 번호: {s}\n이걸로 로그인 해주세요"),
        ("보안코드", "이메일로 온 보안코드 {s} 가 안 먹혀요"),
        ("로그인 인증", "카카오톡으로 인증번호가 {s}라고 왔는데 맞나요?"),
        ("확인 코드", "확인 코드는 {s} 입니다."),
    ],
    "zh": [
        ("验证码错误", "短信收到的验证码{s}输入后提示错误。"),
        ("谷歌验证", "谷歌验证码 {s} 一直验证失败"),
        ("", "验证码是{s}，快点处理"),
        ("客服电话", "刚才打电话的客服让我报验证码，验证码：{s}"),
        ("提币验证", "提币的邮箱验证码 {s} 显示已过期"),
        ("动态码", "动态码 {s} 登录不上去"),
        ("驗證碼", "您好，驗證碼是 {s}，請幫我登入確認。"),
        ("安全验证", "安全验证那一步，短信验证码为{s}，还是不行"),
        ("二次验证", "2FA code {s}，麻烦帮我处理一下提币"),
    ],
    "ja": [
        ("認証コードエラー", "SMSで届いた認証コード{s}を入力してもエラーになります。"),
        ("二段階認証", "Google認証のコードは{s}です。ログインできません。"),
        ("", "認証コードは{s}です。急ぎでお願いします"),
        (
            "お電話の件",
            "お電話いただいた担当者様に確認コードを伝えるよう言われました。確認コード：{s}",
        ),
        ("出金の確認", "出金の認証番号 {s} が期限切れと表示されます。"),
        ("ワンタイムパスワード", "ワンタイムパスワード {s} でログインできません"),
        ("ログイン", "メールで届いたコードは{s}です。合っていますか。"),
        ("セキュリティ", "セキュリティコード：{s}\nこれで進めてください"),
        ("OTP", "OTP {s} が通りません"),
    ],
}

API: dict[str, list[Frame]] = {
    "en": [
        (
            "API signature error",
            "Hi, my bot gets 'invalid signature' on every order. Here "
            "is my setup so you can reproduce it:\n\nAPI key: {k}\nSecret key: {s}\n\nThanks!",
        ),
        ("api keys", "apiKey={k}\napiSecret={s}\nwhy does it return 401"),
        (
            "Trading bot not working",
            "Using ccxt with these credentials:\n"
            "    exchange = ccxt.exchange({{'apiKey': '{k}', 'secret': '{s}'}})\n"
            "and it fails with AuthenticationError.",
        ),
        (
            "API key permissions",
            "I created a key today. Access Key: {k} / Secret Key: {s}. "
            "Can you enable withdrawals for it?",
        ),
        (
            "Re: API question",
            "Sure, here are the details you asked for.\nAPI Key - {k}\n"
            "API Secret - {s}\nIP whitelist is off.",
        ),
        ("", "key {k}\nsecret: {s}\nnot working"),
    ],
    "ko": [
        (
            "API 서명 오류",
            "봇에서 주문할 때마다 서명 오류가 납니다. 재현용으로 키 보내드려요.\n\n"
            "Access Key: {k}\nSecret Key: {s}\n\n확인 부탁드립니다.",
        ),
        (
            "API 키 권한",
            "오늘 API 키 만들었어요. API 키: {k}, 시크릿 키: {s} 출금 권한도 켜주세요.",
        ),
        ("", "엑세스키 {k}\n시크릿키 {s}\n401 나와요"),
        (
            "자동매매 오류",
            "자동매매 프로그램에 아래 키 넣었는데 인증 실패가 뜹니다\n"
            "access key = {k}\nsecret key = {s}",
        ),
        ("API 문의", "API KEY: {k}\nSECRET: {s}\n왜 안되는지 알려주세요"),
        ("키 재발급", "시크릿 키는 {s} 이고 액세스 키는 {k} 입니다. 재발급 해야 하나요?"),
    ],
    "zh": [
        (
            "API签名错误",
            "你好，我的程序下单一直报签名错误，配置如下方便你们复现：\n\n"
            "API Key：{k}\nSecret Key：{s}\n\n谢谢",
        ),
        ("API权限", "今天新建了API，API Key {k} 密钥 {s}，能帮我开通提币权限吗？"),
        ("", "apikey: {k}\nsecret: {s}\n返回401"),
        ("量化机器人", '量化机器人里填的是：\napi_key = "{k}"\napi_secret = "{s}"\n一直认证失败'),
        ("API金鑰", "您好，API金鑰設定如下：\nAPI Key：{k}\n密鑰：{s}\n請協助確認。"),
        ("API问题", "API Key: {k}\nSecret: {s}\n是不是IP白名单的问题？"),
    ],
    "ja": [
        (
            "API署名エラー",
            "お世話になっております。注文のたびに署名エラーになります。\n"
            "再現用に設定を記載します。\n\nAPIキー：{k}\nシークレットキー：{s}\n\nよろしくお願いします。",
        ),
        (
            "APIの権限",
            "本日APIキーを作りました。APIキー {k} シークレット {s} 出金権限を付けられますか。",
        ),
        ("", "access key: {k}\nsecret key: {s}\n401になります"),
        (
            "自動売買",
            "自動売買ツールに以下を設定していますが認証に失敗します。\nAPI_KEY={k}\nAPI_SECRET={s}",
        ),
        ("API", "APIキー: {k}\nシークレットキー: {s}\nIP制限はしていません。"),
        ("キーの再発行", "シークレットキーは{s}、アクセスキーは{k}です。再発行が必要ですか。"),
    ],
}

CARD: dict[str, list[Frame]] = {
    "en": [
        (
            "Card purchase failed",
            "I tried to buy USDT with my card {s} exp 09/27 and it was "
            "declined twice. Was I charged?",
        ),
        ("Refund", "Please refund the failed purchase to my Visa {s}, thank you."),
        (
            "charged twice",
            "My credit card number is {s}. I see two charges of $250 for one purchase.",
        ),
        ("", "card: {s}\ncvv on the back if you need it"),
        (
            "Chargeback",
            "Dear team,\nthe payment from card {s} shows as pending for 5 days. "
            "My bank says it's on your side.\nRegards",
        ),
        ("Mastercard", "Can I add this Mastercard {s} as a payment method? The app rejects it."),
    ],
    "ko": [
        ("카드 결제 실패", "카드번호 {s} 로 USDT 사려는데 두 번 거절됐어요. 결제된 건가요?"),
        ("환불 요청", "실패한 결제 금액 제 카드 {s} 로 환불해주세요."),
        ("", "카드: {s}\n이중결제 확인 부탁드려요"),
        ("신용카드 등록", "신용카드 {s} 등록하려는데 오류가 납니다."),
        ("결제 문의", "체크카드 번호는 {s} 이고, 결제가 5일째 보류 중입니다."),
        ("카드 인증", "카드 인증할 때 입력한 번호 {s} 맞는지 확인해주세요"),
    ],
    "zh": [
        ("银行卡支付失败", "用银行卡 {s} 买USDT被拒绝了两次，扣款了吗？"),
        ("退款", "请把失败的款项退回到我的信用卡：{s}"),
        ("", "卡号：{s}\n被扣了两次钱"),
        ("绑卡失败", "绑定这张卡 {s} 的时候一直报错"),
        ("信用卡", "我的信用卡号是{s}，付款显示处理中五天了"),
        ("卡號", "您好，卡號 {s} 的付款一直未完成，請協助查詢。"),
    ],
    "ja": [
        (
            "カード決済の失敗",
            "カード {s} でUSDTを購入しようとしたら2回拒否されました。請求されていますか。",
        ),
        ("返金", "失敗した決済をクレジットカード {s} に返金してください。"),
        ("", "カード番号：{s}\n二重請求されています"),
        ("カード登録", "このカード {s} を登録しようとするとエラーになります。"),
        ("決済保留", "カード番号は{s}です。決済が5日間保留のままです。"),
        ("クレジットカード", "クレジットカード {s} の支払いについて確認をお願いします。"),
    ],
}

COMBINED_KINDS = {"password": "p", "one_time_code": "o", "recovery_phrase": "w", "private_key": "x"}

COMBINED: dict[str, list[Frame]] = {
    "en": [
        (
            "EVERYTHING you asked for",
            "ok here is everything so you can fix it:\n"
            "password: {p}\nOTP is {o}\nand my seed words {w}\nplease hurry",
        ),
        ("Verification", "My password is {p}. The code from the app is {o}. Is that enough?"),
        ("Move my funds", "Key: {x}\npassword: {p}\nmove everything to my new wallet please"),
        ("restore", "recovery phrase: {w}\n\nand the wallet password was {p}"),
    ],
    "ko": [
        ("요청하신 정보", "비밀번호: {p}\n인증번호: {o}\n복구 문구: {w}\n빨리 처리해주세요"),
        ("본인 확인", "비밀번호는 {p} 이고 OTP {o} 입니다"),
        ("지갑 옮기기", "키: {x}\n비번 {p}\n새 지갑으로 전부 옮겨주세요"),
        ("복구", "니모닉 {w}\n\n지갑 비밀번호는 {p} 였어요"),
    ],
    "zh": [
        ("你们要的资料", "密码：{p}\n验证码：{o}\n助记词：{w}\n请尽快处理"),
        ("身份验证", "我的密码是{p}，验证码是{o}，可以了吗"),
        ("转移资产", "私钥：{x}\n密码 {p}\n全部转到我的新钱包"),
        ("恢复", "助记词 {w}\n\n钱包密码是{p}"),
    ],
    "ja": [
        ("ご依頼の情報", "パスワード：{p}\n認証コード：{o}\n復元フレーズ：{w}\n急ぎでお願いします"),
        ("本人確認", "パスワードは{p}で、認証コードは{o}です"),
        ("資金移動", "秘密鍵：{x}\nパスワード：{p}\n新しいウォレットに全部移してください"),
        ("復元", "リカバリーフレーズ {w}\n\nウォレットのパスワードは{p}でした"),
    ],
}

# (note, subject, body). Fillers: {tx} {tx0x} 64-hex hashes, {btc} {btc3} {bech32} {eth}
# {tron} {xrp} addresses, {tag} an XRP destination tag, {order} a Luhn-valid order number,
# {uid}, {amount}, {ref}.
NEGATIVE: dict[str, list[tuple[str, str, str]]] = {
    "en": [
        (
            "forgot password",
            "Forgot password",
            "Hi, I forgot my password and the reset "
            "email never arrives. Can you help? Account email is this one.",
        ),
        (
            "reset password",
            "reset password",
            "how do i reset password? the link in the app goes to a blank page",
        ),
        (
            "wrong password",
            "Locked",
            "My password is wrong apparently, even though I "
            "haven't changed it. After 5 tries the account is locked for 24 hours.",
        ),
        (
            "password not working",
            "Login problem",
            "Hello,\n\nmy password is not working since "
            "your update on Tuesday. Is there an outage?\n\nThanks,\nGreg",
        ),
        (
            "password changed notice",
            "Did you change my password?",
            "I received an email "
            "saying my password was changed at 03:12 UTC. It wasn't me! Please freeze my "
            "account.",
        ),
        (
            "password policy",
            "Password rules",
            "What are the password requirements? The "
            "form says my new password is too weak but it has 14 characters.",
        ),
        (
            "masked password",
            "Login",
            "Username: k.osei\nPassword: ********\nIt says invalid credentials, what now?",
        ),
        (
            "deposit with tx hash",
            "Deposit not credited",
            "I sent 0.25 BTC to my deposit "
            "address 6 hours ago.\nTXID: {tx}\nIt has 14 confirmations on the explorer but "
            "my balance is still 0.",
        ),
        (
            "eth tx hash",
            "USDT ERC20 missing",
            "Transaction hash {tx0x} shows success on "
            "Etherscan. Sent {amount} USDT to {eth}. Not in my account yet.",
        ),
        (
            "withdrawal tx",
            "Withdrawal stuck",
            "My withdrawal of {amount} XRP to {xrp} "
            "(destination tag {tag}) says completed, tx {tx}, but my other wallet shows "
            "nothing.",
        ),
        (
            "tron address",
            "TRC20 deposit",
            "Which network should I use? My TRON address is {tron}. I don't want to lose the USDT.",
        ),
        (
            "btc addresses",
            "Address changed?",
            "Last month my deposit address was {btc}, "
            "now the app shows {bech32}. Is the old one still valid? Also used {btc3} once.",
        ),
        (
            "order number",
            "Order not filled",
            "Order #{order} to buy 2 SOL at 140 was cancelled without reason. Please check.",
        ),
        (
            "order number 2",
            "Refund for order",
            "Order number: {order}\nAmount: {amount} USDT\nStatus: failed, but money left my bank.",
        ),
        (
            "phone number",
            "Call me back",
            "Please call me at +1 (415) 555-0132 or +44 20 7946 0958 between 9 and 5.",
        ),
        (
            "dates and amounts",
            "Statement question",
            "Between 2024-03-01 and 2024-03-31 I "
            "deposited {amount} USD in 4 transfers (2024-03-04, 2024-03-11, 2024-03-18, "
            "2024-03-25). The statement shows one missing.",
        ),
        (
            "ticket ref",
            "Re: {ref}",
            "Any update on ticket {ref}? It's been 3 days. My UID is {uid}.",
        ),
        (
            "2fa lost",
            "Lost 2FA",
            "I lost my phone and can't get the 2FA code. How do I "
            "reset Google Authenticator? I can send ID.",
        ),
        (
            "otp not arriving",
            "No SMS",
            "The verification code never arrives by SMS. I tried 6 times in the last hour.",
        ),
        (
            "code with no value",
            "Code expired",
            "The code expired before I could type it, "
            "and the resend button is greyed out for 60 seconds.",
        ),
        (
            "referral code",
            "Referral bonus",
            "My friend used my referral code 583920 but I didn't get the bonus.",
        ),
        (
            "error code",
            "API error",
            "Every request returns error code 100234 and HTTP 429. "
            "Is there a rate limit on /api/v3/order?",
        ),
        (
            "api key mention",
            "API key",
            "I created an API key yesterday but the secret key is "
            "only shown once and I didn't copy it. Can I see it again?",
        ),
        (
            "api permissions",
            "API permissions",
            "Does an API key with trade permission also "
            "need the IP whitelist? My secret is stored in a vault, I just want to know the "
            "rules.",
        ),
        (
            "long prose",
            "Long story",
            "I have been trading with you since 2019 and I have "
            "always been happy with the service. Last week however I noticed that my account "
            "balance was lower than expected after a series of trades, and I would like "
            "someone to explain the fee calculation to me, because the numbers in the history "
            "page do not add up when I check them by hand.",
        ),
        (
            "bip39 words in prose",
            "Wallet question",
            "Can you explain what happens to my "
            "account balance if the exchange goes offline during a market crash? Also, where "
            "can I find the fee table for each network, and how long does a normal deposit "
            "take?",
        ),
        (
            "seed phrase question",
            "Seed phrase?",
            "Does the exchange ever need my seed "
            "phrase? Someone on Telegram claiming to be support asked for my 12 words. I did "
            "NOT send them.",
        ),
        (
            "uid and amounts",
            "Missing funds",
            "UID {uid}. Before: {amount} USDT. After: {amount} USDT. No trades in between.",
        ),
        (
            "card mention",
            "Card payment",
            "Can I pay with a credit card? My card ends with 4412 and the app says unsupported.",
        ),
        (
            "private key mention",
            "Private key?",
            "Where can I see the private key of my "
            "deposit address? I want to import it into my own wallet. (I know you probably "
            "don't give it out.)",
        ),
        (
            "tx hash labelled after",
            "Deposit",
            "{tx0x} <- that's the transaction hash, sent 3 hours ago",
        ),
        ("bare hash", "Stuck deposit", "Hash:\n{tx}\nNetwork BEP20. Please credit it."),
        (
            "invoice",
            "Invoice",
            "Invoice INV-2024-00982 for {amount} USD, bank transfer reference {order}.",
        ),
        (
            "passport",
            "KYC",
            "My passport number is M12345678 and it expires 2031-05-14. The "
            "KYC page says document invalid.",
        ),
        (
            "password hint in quotes",
            "Login",
            "The message says 'password incorrect' even though I reset it twice.",
        ),
        (
            "passphrase question",
            "Passphrase",
            "What is the API passphrase field? I left it blank when creating the key.",
        ),
    ],
    "ko": [
        ("비밀번호 분실", "비밀번호 찾기", "비밀번호를 잊어버려서 재설정하려는데 메일이 안 와요."),
        ("비밀번호 오류", "로그인", "비밀번호가 틀렸다고 나오는데 바꾼 적이 없습니다."),
        (
            "비밀번호 5회 오류",
            "계정 잠김",
            "비밀번호 5번 틀려서 계정이 잠겼어요. 24시간 기다려야 하나요?",
        ),
        (
            "비밀번호 변경 알림",
            "비밀번호 변경",
            "비밀번호가 변경되었다는 메일을 받았는데 제가 한 게 아닙니다. 계정 동결 부탁드립니다.",
        ),
        ("비번 재설정", "", "비번 재설정 링크 눌러도 아무 반응이 없어요 ㅠㅠ"),
        (
            "비밀번호 규칙",
            "비밀번호 조건",
            "새 비밀번호가 너무 약하다고 나오는데 조건이 뭔가요? 8자리 이상 맞는데요.",
        ),
        (
            "입금 txid",
            "입금 미반영",
            "3시간 전에 USDT {amount}개 입금했는데 반영이 안 됩니다.\n"
            "TXID: {tx}\n확인 부탁드립니다.",
        ),
        (
            "트랜잭션 해시",
            "이더리움 입금",
            "트랜잭션 해시 {tx0x} 이더스캔에서는 성공으로 나옵니다.",
        ),
        ("출금 주소", "출금 문의", "{eth} 주소로 출금했는데 아직 도착을 안 했어요."),
        ("리플 태그", "리플 입금", "리플 입금 주소 {xrp} 데스티네이션 태그 {tag} 로 보냈습니다."),
        ("트론 주소", "트론 주소 확인", "제 트론 주소가 {tron} 맞는지 확인 부탁드립니다."),
        ("비트코인 주소", "주소 변경", "예전 입금 주소는 {btc} 였는데 지금은 {bech32} 로 나와요."),
        ("주문번호", "주문 취소", "주문번호 {order} 매수 주문이 이유 없이 취소됐습니다."),
        ("전화번호", "연락 부탁", "010-2345-6789 로 연락 주세요. 회사 번호는 02-312-4567 입니다."),
        ("국제 전화", "해외 거주", "해외에 있어서 +82 10 9876 5432 로 문자 주시면 됩니다."),
        (
            "날짜와 금액",
            "정산 문의",
            "2024년 3월 4일에 {amount}원 입금했는데 3월 5일 내역에 없어요.",
        ),
        ("문의번호", "Re: [{ref}] 문의", "{ref} 문의 건 진행 상황 알려주세요. UID {uid} 입니다."),
        (
            "OTP 분실",
            "OTP 재설정",
            "폰을 바꿔서 구글 OTP가 없어졌어요. OTP 해제하려면 어떻게 하나요?",
        ),
        ("인증번호 미수신", "인증번호", "인증번호가 문자로 안 와요. 6번이나 재전송했어요."),
        ("인증번호 6자리", "", "OTP 6자리 입력하라는데 앱에 아무것도 없어요"),
        (
            "API 키 분실",
            "API 키",
            "API 키를 만들었는데 시크릿 키를 복사 안 해서 다시 볼 수 있나요?",
        ),
        (
            "개인키 문의",
            "개인키",
            "입금 주소의 개인키를 알 수 있나요? 제 지갑으로 옮기고 싶어서요.",
        ),
        (
            "시드 문의",
            "시드 구문",
            "텔레그램에서 고객센터라고 하면서 시드 구문 12단어를 달라고 했어요. 안 보냈습니다. 이거 사기죠?",
        ),
        (
            "긴 문장",
            "수수료 문의",
            "안녕하세요 지난주부터 거래를 하고 있는데 수수료가 생각보다 많이 나와서 "
            "계산 방법을 알고 싶습니다 가격 변동 때문인지 아니면 다른 이유가 있는지 궁금합니다",
        ),
        ("카드 끝자리", "카드 결제", "끝자리 4412 카드로 결제가 안 됩니다."),
        ("계좌번호", "원화 출금", "출금 계좌 110-234-567890 으로 등록했는데 출금이 안 돼요."),
        ("해시 레이블 뒤", "", "{tx} 이게 트랜잭션 해시예요"),
        ("해시만", "입금", "해시:\n{tx}\n네트워크 BEP20 입니다."),
        ("에러코드", "API 오류", "주문할 때마다 에러 코드 100234 가 나옵니다."),
        ("추천인 코드", "추천인", "친구가 제 추천인 코드 583920 을 입력했는데 보상이 없어요."),
        ("여권", "KYC", "여권번호 M12345678 로 인증했는데 반려됐어요."),
    ],
    "zh": [
        ("忘记密码", "忘记密码", "我忘记密码了，重置邮件一直收不到，怎么办？"),
        ("密码错误", "登录失败", "一直提示密码错误，但是我没改过密码。"),
        ("密码错误次数", "账户锁定", "密码输错5次账户被锁了，要等24小时吗？"),
        ("密码被修改", "密码被改", "收到邮件说我的密码被修改了，不是我操作的！请冻结账户。"),
        ("重置密码", "", "重置密码的链接点了没反应"),
        ("密码规则", "密码要求", "新密码提示强度太弱，要求是什么？我已经用了12位。"),
        (
            "充值哈希",
            "充值未到账",
            "我3小时前充值了{amount} USDT，还没到账。\n交易哈希：{tx}\n请帮忙查询。",
        ),
        ("以太坊交易", "ETH充值", "交易哈希 {tx0x} 在区块浏览器上显示成功。"),
        ("提币地址", "提币未到", "提币到 {eth} 显示已完成，但是没收到。"),
        ("瑞波标签", "XRP充值", "XRP充值地址 {xrp}，标签 {tag}，已经发送了。"),
        ("波场地址", "TRC20", "我的波场地址是 {tron}，请确认一下。"),
        ("比特币地址", "地址变了", "以前的充值地址是 {btc}，现在变成了 {bech32}，旧的还能用吗？"),
        ("订单号", "订单取消", "订单号 {order} 的买单被无故取消了。"),
        ("电话", "回电", "请打我电话 +86 139 1234 5678，或者座机 010-8765-4321。"),
        ("日期金额", "对账", "2024年3月4日充值{amount}元，3月5日的记录里没有。"),
        ("工单号", "回复：{ref}", "工单 {ref} 有进展吗？我的UID是 {uid}。"),
        ("谷歌验证丢失", "谷歌验证", "换手机了谷歌验证器没了，怎么解绑？"),
        ("验证码收不到", "验证码", "短信验证码一直收不到，试了6次了。"),
        ("验证码位数", "", "要输6位验证码但是APP里没有"),
        ("API密钥丢失", "API", "创建了API但是密钥没复制，还能再看吗？"),
        ("私钥问题", "私钥", "充值地址的私钥能给我吗？我想导入自己的钱包。"),
        ("助记词诈骗", "助记词", "有人冒充客服在电报上要我的助记词，我没给。这是诈骗吧？"),
        (
            "长句",
            "手续费",
            "我是你们平台的老用户了一直觉得服务不错但是最近发现手续费比以前高了很多想问一下是不是调整了费率",
        ),
        ("短行", "问题", "我的账户里面的钱不见了\n是不是有人登录了我的账户\n请你们马上帮我查一下"),
        ("卡尾号", "信用卡", "尾号4412的信用卡付款失败。"),
        ("银行账号", "法币提现", "提现到工商银行的账户一直失败，户名张三。"),
        ("哈希后置", "", "{tx} 这个是交易哈希"),
        ("只有哈希", "充值", "哈希：\n{tx}\n网络是BEP20。"),
        ("错误码", "API报错", "下单一直返回错误码 100234。"),
        ("邀请码", "邀请返佣", "朋友填了我的邀请码 583920 但是没有返佣。"),
        ("繁體", "帳戶問題", "您好，我的帳戶餘額不對，請協助查詢最近三筆交易紀錄，謝謝。"),
    ],
    "ja": [
        (
            "パスワード忘れ",
            "パスワードを忘れました",
            "パスワードを忘れてしまい、再設定メールが届きません。",
        ),
        ("パスワード違い", "ログイン", "パスワードが違うと表示されますが、変更していません。"),
        (
            "ロック",
            "アカウントロック",
            "パスワードを5回間違えてロックされました。24時間待つ必要がありますか。",
        ),
        (
            "パスワード変更通知",
            "身に覚えのない変更",
            "パスワードが変更されたというメールが届きましたが、私ではありません。",
        ),
        ("再設定", "", "パスワード再設定のリンクを押しても何も起きません"),
        (
            "パスワード条件",
            "条件",
            "新しいパスワードが弱いと言われます。条件は何ですか。12文字あります。",
        ),
        (
            "入金txid",
            "入金未反映",
            "3時間前にUSDTを{amount}入金しましたが反映されません。\nTXID：{tx}\nご確認ください。",
        ),
        (
            "トランザクションハッシュ",
            "ETH入金",
            "トランザクションハッシュ {tx0x} はEtherscanで成功になっています。",
        ),
        ("出金先", "出金", "{eth} に出金しましたが届いていません。"),
        ("XRPタグ", "XRP入金", "XRPの入金アドレス {xrp}、宛先タグ {tag} で送金しました。"),
        ("TRONアドレス", "TRC20", "私のTRONアドレスは {tron} で合っていますか。"),
        (
            "BTCアドレス",
            "アドレス変更",
            "以前の入金アドレスは {btc} でしたが、今は {bech32} になっています。",
        ),
        (
            "注文番号",
            "注文キャンセル",
            "注文番号 {order} の買い注文が理由なくキャンセルされました。",
        ),
        ("電話番号", "折り返し", "090-1234-5678 までお電話ください。会社は 03-1234-5678 です。"),
        ("日付と金額", "残高確認", "2024年3月4日に{amount}円入金しましたが、履歴にありません。"),
        ("問い合わせ番号", "Re: {ref}", "{ref} の件、進捗を教えてください。UIDは{uid}です。"),
        (
            "二段階認証紛失",
            "二段階認証",
            "機種変更でGoogle認証アプリが消えました。解除方法を教えてください。",
        ),
        ("認証コード届かない", "認証コード", "SMSの認証コードが届きません。6回再送しました。"),
        ("認証コード桁", "", "6桁の認証コードを入力してと出ますがアプリに何もありません"),
        (
            "APIシークレット紛失",
            "API",
            "APIキーを作成しましたが、シークレットキーを控え忘れました。再表示できますか。",
        ),
        (
            "秘密鍵質問",
            "秘密鍵",
            "入金アドレスの秘密鍵は教えてもらえますか。自分のウォレットに移したいです。",
        ),
        (
            "詐欺",
            "シード",
            "サポートを名乗る人にシードフレーズを聞かれました。送っていません。詐欺ですよね？",
        ),
        (
            "長文",
            "手数料",
            "いつもお世話になっております。先週から取引を始めましたが、手数料が思ったより高く、"
            "計算方法を教えていただけますでしょうか。",
        ),
        ("カード末尾", "カード決済", "末尾4412のカードで決済できません。"),
        ("口座番号", "日本円出金", "出金先の口座番号 1234567 が登録できません。"),
        ("ハッシュ後置", "", "{tx} これがトランザクションのハッシュです"),
        ("ハッシュのみ", "入金", "ハッシュ：\n{tx}\nネットワークはBEP20です。"),
        ("エラーコード", "APIエラー", "注文のたびにエラーコード 100234 が返ってきます。"),
        ("紹介コード", "紹介", "友人が私の紹介コード 583920 を入力しましたが特典がありません。"),
        (
            "ひらがな文",
            "問い合わせ",
            "すみません、あたらしいあかうんとのつくりかたがわかりません。おしえてください。",
        ),
    ],
}

KR = ("upbit.com", "bithumb.com")
GLOBAL = ("binance.com", "okx.com", "coinone.co.kr")
# (official domains, text, sender addresses, expected [(host, imitates, reason)])
PhishingCase = tuple[tuple[str, ...], str, tuple[str, ...], list[tuple[str, str, str]]]
PHISHING: dict[str, list[PhishingCase]] = {
    "en": [
        (
            KR,
            "---------- Forwarded message ---------\nFrom: Upbit Security <no-reply@upbіt.com>\n"
            "Subject: Unusual login\n\nVerify your account within 24h: https://upbіt.com/verify",
            (),
            [("upbіt.com", "upbit.com", "homoglyph")],
        ),
        (
            KR,
            "Is this link yours? http://xn--upbt-n9d.com/login?id=77 it came by SMS",
            (),
            [("xn--upbt-n9d.com", "upbit.com", "punycode")],
        ),
        (
            KR,
            "Got an email from support@upbit-support.com asking me to re-enter my 2FA. Legit?",
            (),
            [("upbit-support.com", "upbit.com", "extra_words")],
        ),
        (
            KR,
            "They told me to log in at https://login-upbit.co/auth because the main site "
            "is under maintenance.",
            (),
            [("login-upbit.co", "upbit.com", "extra_words")],
        ),
        (
            KR,
            "The link was hxxps://upbit[.]com[.]secure-login[.]io/account (I defanged it)",
            (),
            [("upbit.com.secure-login.io", "upbit.com", "subdomain")],
        ),
        (
            KR,
            "Is upbit.net your site too? It looks exactly the same.",
            (),
            [("upbit.net", "upbit.com", "other_tld")],
        ),
        (
            KR,
            "Received: 'Your withdrawal is on hold, visit www.bithurnb.com to release it'",
            (),
            [("www.bithurnb.com", "bithumb.com", "homoglyph")],
        ),
        (
            KR,
            "Please confirm whether bitthumb.com belongs to you. I almost typed my password there.",
            (),
            [("bitthumb.com", "bithumb.com", "typo")],
        ),
        (
            KR,
            "I use https://www.upbit.com and the app. Last night I got mail from "
            "notice@upbit.com about maintenance, is that real?",
            (),
            [],
        ),
        (
            KR,
            "Deposit pending, see https://etherscan.io/tx/0xabc and my mail is james.k@gmail.com",
            (),
            [],
        ),
        (
            KR,
            "Hello, login alert came from security@bithumb.com and said to check "
            "https://m.bithumb.com/settings. All fine?",
            (),
            [],
        ),
        (
            KR,
            "the sender was alerts@upb1t.com, is that you",
            ("alerts@upb1t.com",),
            [("upb1t.com", "upbit.com", "homoglyph")],
        ),
        (
            GLOBAL,
            "Your account will be suspended. Act now: https://binance-verify.xyz/kyc",
            (),
            [("binance-verify.xyz", "binance.com", "extra_words")],
        ),
        (
            GLOBAL,
            "Got a DM with https://www.binnance.com/en/airdrop — is this official?",
            (),
            [("www.binnance.com", "binance.com", "typo")],
        ),
        (
            GLOBAL,
            "The official app says accounts.binance.com and www.okx.com are fine. "
            "Also I read news on finance.yahoo.com",
            (),
            [],
        ),
        (
            GLOBAL,
            "An SMS pointed to coinone.kr/event, is it yours?",
            (),
            [("coinone.kr", "coinone.co.kr", "other_tld")],
        ),
        (
            GLOBAL,
            "Email from no-reply@c0inone.co.kr about a tax refund",
            (),
            [("c0inone.co.kr", "coinone.co.kr", "homoglyph")],
        ),
    ],
    "ko": [
        (
            KR,
            "이 메일 진짜 업비트에서 보낸 건가요?\n보낸사람: 업비트 <help@upbit-kr.com>\n"
            "링크: https://upbit-kr.com/event",
            (),
            [("upbit-kr.com", "upbit.com", "extra_words")],
        ),
        (
            KR,
            "문자로 온 링크 http://upbіt.co.kr/otp 눌렀는데 괜찮을까요",
            (),
            [("upbіt.co.kr", "upbit.com", "homoglyph")],
        ),
        (
            KR,
            "빗썸 이벤트라고 bithumb-event.net 에서 지갑 연결하라는데 공식인가요?",
            (),
            [("bithumb-event.net", "bithumb.com", "extra_words")],
        ),
        (
            KR,
            "카톡으로 온 주소: hxxp://bithumb[.]com[.]kr-login[.]top/",
            (),
            [("bithumb.com.kr-login.top", "bithumb.com", "subdomain")],
        ),
        (
            KR,
            "bithumb.co 라는 사이트가 똑같이 생겼는데 거기서 로그인했어요 ㅠㅠ",
            (),
            [("bithumb.co", "bithumb.com", "other_tld")],
        ),
        (
            KR,
            "업비트 고객센터 upbit.com 에서 안내받은 대로 했는데 입금이 안 됩니다. "
            "제 메일은 kim1234@naver.com 입니다.",
            (),
            [],
        ),
        (
            KR,
            "공지 메일(noreply@upbit.com)에 있던 링크 https://www.upbit.com/service_center "
            "들어가봤어요.",
            (),
            [],
        ),
        (KR, "빗썸 앱에서 안내한 https://cafe.bithumb.com 주소가 맞나요?", (), []),
        (
            KR,
            "보낸 사람 security@xn--bthumb-pvf.com 이라고 되어 있어요",
            (),
            [("xn--bthumb-pvf.com", "bithumb.com", "punycode")],
        ),
        (
            KR,
            "로그인 페이지가 myupbit.io 로 바뀌었다고 문자가 왔습니다",
            (),
            [("myupbit.io", "upbit.com", "extra_words")],
        ),
        (
            KR,
            "업빗 사이트 upbti.com 맞나요? 주소창에 그렇게 떠요",
            (),
            [("upbti.com", "upbit.com", "typo")],
        ),
        (
            GLOBAL,
            "코인원 보안팀 메일 notice@coinone-security.com 에서 OTP 재등록 하라고 합니다",
            (),
            [("coinone-security.com", "coinone.co.kr", "extra_words")],
        ),
    ],
    "zh": [
        (
            GLOBAL,
            "收到一封邮件，发件人 support@binance-cn.com，让我点 https://binance-cn.com/verify 验证",
            (),
            [("binance-cn.com", "binance.com", "extra_words")],
        ),
        (
            GLOBAL,
            "这个网址是官方的吗？https://www.bіnance.com/zh-CN/register",
            (),
            [("www.bіnance.com", "binance.com", "homoglyph")],
        ),
        (
            GLOBAL,
            "微信群里发的链接 hxxps://binance[.]com[.]airdrop-claim[.]cc 领空投",
            (),
            [("binance.com.airdrop-claim.cc", "binance.com", "subdomain")],
        ),
        (
            GLOBAL,
            "我在 binance.org 上登录了，是你们的吗",
            (),
            [("binance.org", "binance.com", "other_tld")],
        ),
        (GLOBAL, "官网是 www.binance.com 吧？我一直用 accounts.binance.com 登录", (), []),
        (
            GLOBAL,
            "短信说账户异常，让访问 http://xn--binnce-5nf.com/login",
            (),
            [("xn--binnce-5nf.com", "binance.com", "punycode")],
        ),
        (
            GLOBAL,
            "客服邮箱是 help@okx.com 吗？有人用 okx-help.com 给我发邮件",
            (),
            [("okx-help.com", "okx.com", "extra_words")],
        ),
        (
            GLOBAL,
            "查了一下交易 https://tronscan.org/#/transaction/abc 和 https://bscscan.com 都没问题",
            (),
            [],
        ),
        (
            KR,
            "有人发了 upbit.com.cn 说是韩国交易所的中文站",
            (),
            [("upbit.com.cn", "upbit.com", "other_tld")],
        ),
        (
            GLOBAL,
            "登录页面地址是 binanse.com 吗？浏览器自动补全的",
            (),
            [("binanse.com", "binance.com", "typo")],
        ),
        (GLOBAL, "邮件来自 no-reply@binance.com，内容是登录提醒，正常吗", (), []),
        (
            GLOBAL,
            "对方让我去 binancé.com 提交资料",
            (),
            [("binancé.com", "binance.com", "homoglyph")],
        ),
    ],
    "ja": [
        (
            GLOBAL,
            "このメールは本物ですか？\n差出人：Binance <security@binance-jp.net>\n"
            "リンク：https://binance-jp.net/login",
            (),
            [("binance-jp.net", "binance.com", "extra_words")],
        ),
        (
            GLOBAL,
            "SMSで届いたURL http://www.binancе.com/ja/verify を開いてしまいました",
            (),
            [("www.binancе.com", "binance.com", "homoglyph")],
        ),
        (
            GLOBAL,
            "hxxps://okx[.]com[.]jp-secure[.]info/ というサイトでログインしました",
            (),
            [("okx.com.jp-secure.info", "okx.com", "subdomain")],
        ),
        (
            GLOBAL,
            "binance.co.jp は公式ですか？",
            (),
            [("binance.co.jp", "binance.com", "other_tld")],
        ),
        (
            GLOBAL,
            "いつも https://www.binance.com/ja と公式アプリを使っています。"
            "連絡先は taro@yahoo.co.jp です。",
            (),
            [],
        ),
        (
            GLOBAL,
            "差出人が support@xn--binnce-5nf.com になっています",
            (),
            [("xn--binnce-5nf.com", "binance.com", "punycode")],
        ),
        (
            GLOBAL,
            "Twitterで見た login-okx.com でキャンペーンに応募しました",
            (),
            [("login-okx.com", "okx.com", "extra_words")],
        ),
        (
            GLOBAL,
            "binace.com というページが出てきましたが大丈夫でしょうか",
            (),
            [("binace.com", "binance.com", "typo")],
        ),
        (
            KR,
            "韓国の取引所のupbit.comを使っています。メールは noreply@upbit.com から届きました。",
            (),
            [],
        ),
        (
            GLOBAL,
            "公式サイト www.okx.com からダウンロードしました。ファイル名は okx-setup.exe です。",
            (),
            [],
        ),
        (
            GLOBAL,
            "Binanceを名乗るメール（info@bιnance.com）が来ました",
            (),
            [("bιnance.com", "binance.com", "homoglyph")],
        ),
    ],
}
