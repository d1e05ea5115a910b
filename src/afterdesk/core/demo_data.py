"""What `afterdesk demo` loads: staff, products, names and the text templates of its cases.

Only data lives here; `core/management/commands/demo.py` turns it into rows through the real
services. Templates are `str.format` strings; the placeholders they may use are:

    {product} {wrong} {symptom} {fault} {part}   product names and phrases, in the text's language
    {order} {serial} {date} {days} {warranty}     the linked order, its line and dates
    {amount} {currency}                           the disputed or refunded amount
    {courier} {tracking} {customer_tracking}      shipping
    {customer} {agent} {number} {original}        greeting name, signing agent, case numbers

Every name, company, courier and brand is invented; e-mail domains are reserved example
domains only (RFC 2606 and the .cn/.com.cn mirrors that resolve nowhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class StaffMember:
    username: str
    role: str
    departments: tuple[str, ...]
    last_name: str
    first_name: str
    language: str
    # The name as the staff member signs English replies ("Zhang Wei", "Emma Wilson").
    latin_name: str

    @property
    def chinese_signature(self) -> str:
        if self.language == "zh-hans":
            return f"{self.last_name}{self.first_name}"
        return self.latin_name


STAFF: tuple[StaffMember, ...] = (
    StaffMember("admin", "admin", (), "Morgan", "Alex", "en", "Alex Morgan"),
    StaffMember(
        "supervisor",
        "supervisor",
        ("customer-service", "repair", "logistics"),
        "王",
        "芳",
        "zh-hans",
        "Wang Fang",
    ),
    StaffMember("zhang.wei", "agent", ("customer-service",), "张", "伟", "zh-hans", "Zhang Wei"),
    StaffMember("li.na", "agent", ("customer-service",), "李", "娜", "zh-hans", "Li Na"),
    StaffMember("wang.lei", "agent", ("customer-service",), "王", "磊", "zh-hans", "Wang Lei"),
    StaffMember("liu.yang", "agent", ("customer-service",), "刘", "洋", "zh-hans", "Liu Yang"),
    StaffMember("chen.jing", "agent", ("customer-service",), "陈", "静", "zh-hans", "Chen Jing"),
    StaffMember("zhao.min", "agent", ("customer-service",), "赵", "敏", "zh-hans", "Zhao Min"),
    StaffMember(
        "emma.wilson", "agent", ("customer-service",), "Wilson", "Emma", "en", "Emma Wilson"
    ),
    StaffMember(
        "james.brown", "agent", ("customer-service",), "Brown", "James", "en", "James Brown"
    ),
    StaffMember("sun.hao", "technician", ("repair",), "孙", "浩", "zh-hans", "Sun Hao"),
    StaffMember("zhou.qiang", "technician", ("repair",), "周", "强", "zh-hans", "Zhou Qiang"),
    StaffMember("david.lee", "technician", ("repair",), "Lee", "David", "en", "David Lee"),
    StaffMember("huang.li", "warehouse", ("logistics",), "黄", "丽", "zh-hans", "Huang Li"),
    StaffMember("wu.gang", "warehouse", ("logistics",), "吴", "刚", "zh-hans", "Wu Gang"),
    StaffMember(
        "sophie.martin", "warehouse", ("logistics",), "Martin", "Sophie", "en", "Sophie Martin"
    ),
    StaffMember("lin.feng", "agent", ("tech",), "林", "峰", "zh-hans", "Lin Feng"),
    StaffMember("he.xin", "agent", ("product",), "何", "欣", "zh-hans", "He Xin"),
)

# The shop/marketplace integration that files marketplace and API cases.
INTEGRATION_USER = StaffMember("shop-sync", "integration", (), "", "Shop sync", "en", "Shop sync")


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    name_zh: str
    product_line: str
    warranty_months: int
    price: Decimal
    # How often it is bought, relative to the others.
    popularity: int
    # What is broken on arrival, what fails in use, and the accessory that goes missing.
    symptom_zh: str
    symptom_en: str
    fault_zh: str
    fault_en: str
    part_zh: str
    part_en: str


# fmt: off
PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct(
        "AU-P12", "Aurora 12 smartphone", "极光12 手机", "phones", 12, Decimal("2999.00"), 9,
        "开机后一直卡在启动画面", "it is stuck on the boot screen",
        "频繁自动重启", "keeps restarting by itself", "充电器", "charger",
    ),
    DemoProduct(
        "AU-P12P", "Aurora 12 Pro smartphone", "极光12 Pro 手机", "phones", 12,
        Decimal("4299.00"), 6,
        "屏幕有一条绿线，触摸没有反应", "there is a green line on the screen and touch is dead",
        "电池掉电特别快，半天就没电", "the battery drains in half a day", "数据线", "USB-C cable",
    ),
    DemoProduct(
        "AU-P9L", "Aurora 9 Lite smartphone", "极光9 青春版 手机", "phones", 12,
        Decimal("1299.00"), 5,
        "插了SIM卡也显示无服务", "it shows 'no service' with a SIM card in",
        "听筒没有声音", "the earpiece has no sound", "卡针", "SIM tool",
    ),
    DemoProduct(
        "EB-AIR3", "AirBeat 3 wireless earbuds", "AirBeat 3 无线耳机", "earbuds", 12,
        Decimal("399.00"), 12,
        "左耳没有声音", "the left earbud makes no sound",
        "右耳充不进电", "the right earbud no longer charges", "充电线", "charging cable",
    ),
    DemoProduct(
        "EB-PRO2", "AirBeat Pro 2 noise-cancelling earbuds", "AirBeat Pro 2 降噪耳机", "earbuds",
        12, Decimal("899.00"), 8,
        "降噪一打开就有滋滋的电流声", "there is a hissing noise as soon as noise cancelling is on",
        "经常断连，连接不稳定", "keeps disconnecting", "耳塞套", "ear tips",
    ),
    DemoProduct(
        "EB-S1", "AirBeat Sport earbuds", "AirBeat 运动耳机", "earbuds", 12, Decimal("299.00"), 5,
        "充电盒指示灯不亮，耳机充不上电", "the case light stays off and the buds won't charge",
        "按键失灵", "the buttons stopped working", "耳挂", "ear hooks",
    ),
    DemoProduct(
        "RT-AX30", "MeshLink AX3000 router", "MeshLink AX3000 路由器", "routers", 24,
        Decimal("329.00"), 6,
        "指示灯一直是红灯，根本连不上网", "the light stays red and it never connects",
        "隔一会儿就断网", "drops the connection every few minutes", "电源适配器", "power adapter",
    ),
    DemoProduct(
        "RT-AX60", "MeshLink AX6000 router", "MeshLink AX6000 路由器", "routers", 24,
        Decimal("699.00"), 4,
        "通电后没有任何反应", "nothing happens when it is powered on",
        "5G频段信号经常消失", "the 5 GHz network keeps disappearing", "网线", "network cable",
    ),
    DemoProduct(
        "RT-M2P", "MeshLink Mesh 2-pack", "MeshLink 子母路由套装", "routers", 24,
        Decimal("899.00"), 3,
        "子路由无法和主路由配对", "the satellite will not pair with the main unit",
        "子路由每天掉线好几次", "the satellite goes offline several times a day",
        "第二个电源适配器", "second power adapter",
    ),
    DemoProduct(
        "SW-W5", "Pulse Watch 5", "Pulse Watch 5 智能手表", "watches", 12, Decimal("999.00"), 6,
        "屏幕不亮，充电也没有反应", "the screen stays dark and it will not charge",
        "触摸屏经常失灵", "the touch screen stops responding", "磁吸充电器", "magnetic charger",
    ),
    DemoProduct(
        "SW-W5P", "Pulse Watch 5 Pro", "Pulse Watch 5 Pro 智能手表", "watches", 12,
        Decimal("1599.00"), 4,
        "表盘玻璃有裂纹", "the glass has a crack",
        "心率监测数据明显不准", "the heart-rate readings are clearly wrong", "表带", "strap",
    ),
    DemoProduct(
        "SW-BND3", "Pulse Band 3", "Pulse Band 3 手环", "watches", 12, Decimal("199.00"), 6,
        "蓝牙搜不到手环", "the phone cannot find it over Bluetooth",
        "续航只有一天", "the battery lasts only a day", "充电夹", "charging clip",
    ),
    DemoProduct(
        "RV-S7", "CleanBot S7 robot vacuum", "CleanBot S7 扫地机器人", "vacuums", 24,
        Decimal("2299.00"), 5,
        "开机后轮子不转，一直报错E2", "the wheels do not turn and it shows error E2",
        "边刷不转，噪音很大", "the side brush stopped and it is very loud",
        "充电座", "charging dock",
    ),
    DemoProduct(
        "RV-S9M", "CleanBot S9 Max robot vacuum", "CleanBot S9 Max 扫拖机器人", "vacuums", 24,
        Decimal("3999.00"), 3,
        "激光雷达不转，无法建图", "the lidar does not spin and it cannot map the room",
        "拖地时水箱漏水", "the water tank leaks while mopping", "拖布支架", "mop holder",
    ),
    DemoProduct(
        "RV-L1", "CleanBot L1 Lite robot vacuum", "CleanBot L1 青春版 扫地机", "vacuums", 24,
        Decimal("1199.00"), 3,
        "充电座指示灯不亮，机器充不上电", "the dock light is off and the robot won't charge",
        "总是找不到充电座", "it never finds its way back to the dock", "遥控器", "remote control",
    ),
    DemoProduct(
        "AP-300", "PureAir 300 air purifier", "PureAir 300 空气净化器", "air purifiers", 24,
        Decimal("899.00"), 5,
        "风扇不转，还有咔咔的响声", "the fan will not spin and it clicks",
        "传感器一直显示红色，风量变小", "the sensor stays red and the airflow is weak",
        "滤芯", "filter",
    ),
    DemoProduct(
        "AP-600P", "PureAir 600 Pro air purifier", "PureAir 600 Pro 空气净化器", "air purifiers",
        24, Decimal("1899.00"), 3,
        "显示屏乱码，按键全部失灵", "the display shows garbage and no button works",
        "运行时有很大的异响", "it makes a loud rattling noise", "遥控器", "remote control",
    ),
    DemoProduct(
        "AP-F300", "PureAir 300 replacement filter", "PureAir 300 替换滤芯", "air purifiers", 3,
        Decimal("149.00"), 4,
        "密封条断了，装不上去", "the seal is torn and it will not fit",
        "装上后有很重的异味", "it gives off a strong smell", "密封条", "seal",
    ),
    DemoProduct(
        "CH-65W", "Aurora 65W GaN charger", "极光 65W 氮化镓充电器", "accessories", 12,
        Decimal("169.00"), 5,
        "插上以后没有任何反应", "nothing happens when it is plugged in",
        "充电时特别烫", "it gets very hot while charging", "双C数据线", "USB-C to C cable",
    ),
    DemoProduct(
        "CH-PB10", "Aurora 10000 mAh power bank", "极光 10000mAh 充电宝", "accessories", 12,
        Decimal("129.00"), 4,
        "电量指示灯不亮，充不进电", "the charge lights stay off and it will not charge",
        "只能充一次手机就没电", "it only charges a phone once", "收纳袋", "pouch",
    ),
)
# fmt: on

# Order sources: (code, reference prefix, currency, share of orders).
ORDER_SOURCES: tuple[tuple[str, str, str, int], ...] = (
    ("tmall", "TM", "CNY", 30),
    ("jd", "JD", "CNY", 25),
    ("webshop", "WS", "CNY", 20),
    ("douyin", "DY", "CNY", 15),
    ("global-store", "GS", "USD", 10),
)
USD_PER_CNY = Decimal("0.14")

# Invented couriers: (Chinese name, English name, tracking prefix).
COURIERS: tuple[tuple[str, str, str], ...] = (
    ("迅达快递", "Xunda Express", "XD"),
    ("安通物流", "Antong Logistics", "AT"),
    ("云路速递", "Yunlu Express", "YL"),
    ("速捷快运", "Sujie Freight", "SJ"),
)

# (surname, pinyin)
SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("高", "gao"), ("林", "lin"), ("罗", "luo"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
)  # fmt: skip

# (given name, pinyin, "f" or "m")
GIVEN_NAMES: tuple[tuple[str, str, str], ...] = (
    ("伟", "wei", "m"), ("芳", "fang", "f"), ("秀英", "xiuying", "f"), ("敏", "min", "f"),
    ("静", "jing", "f"), ("丽", "li", "f"), ("强", "qiang", "m"), ("磊", "lei", "m"),
    ("军", "jun", "m"), ("洋", "yang", "m"), ("勇", "yong", "m"), ("艳", "yan", "f"),
    ("杰", "jie", "m"), ("娟", "juan", "f"), ("涛", "tao", "m"), ("明", "ming", "m"),
    ("超", "chao", "m"), ("秀兰", "xiulan", "f"), ("霞", "xia", "f"), ("平", "ping", "m"),
    ("浩然", "haoran", "m"), ("子涵", "zihan", "f"), ("欣怡", "xinyi", "f"),
    ("梓轩", "zixuan", "m"), ("雨桐", "yutong", "f"), ("宇航", "yuhang", "m"),
    ("思远", "siyuan", "m"), ("佳琪", "jiaqi", "f"), ("晓东", "xiaodong", "m"),
    ("婷婷", "tingting", "f"), ("建国", "jianguo", "m"), ("海燕", "haiyan", "f"),
)  # fmt: skip

ENGLISH_FIRST_NAMES: tuple[str, ...] = (
    "Oliver", "Amelia", "Jack", "Olivia", "Harry", "Isla", "George", "Ava", "Noah", "Mia",
    "Leo", "Grace", "Daniel", "Chloe", "Thomas", "Emily", "Lucas", "Sophia", "Ethan", "Hannah",
    "Michael", "Sarah", "Ryan", "Laura", "Kevin", "Rachel", "Mark", "Julia",
)  # fmt: skip

ENGLISH_LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Taylor", "Brown", "Walker", "Clarke", "Wright", "Evans", "Hughes",
    "Green", "Hall", "Wood", "Turner", "Parker", "Cooper", "Reid", "Murphy", "Fischer",
    "Novak", "Silva", "Tanaka", "Kim", "Nguyen", "Patel",
)  # fmt: skip

EMAIL_DOMAINS_ZH: tuple[str, ...] = ("example.cn", "mail.example.cn", "example.com.cn")
EMAIL_DOMAINS_EN: tuple[str, ...] = ("example.com", "example.net", "example.org")

ORGANISATIONS_ZH: tuple[str, ...] = (
    "上海星河贸易有限公司",
    "杭州云栖数码科技有限公司",
    "深圳前海優品电子商行",
    "成都锦城办公设备有限公司",
    "北京朝阳智家家居有限公司",
    "广州珠江通讯器材经销部",
)
ORGANISATIONS_EN: tuple[str, ...] = (
    "Northwind Gadgets Ltd.",
    "Bluebay Office Supplies",
    "Harbour Lights Trading Co.",
    "Summit Smart Home GmbH",
)


@dataclass(frozen=True)
class Texts:
    """The words of one scenario in one language."""

    subjects: tuple[str, ...]
    bodies: tuple[str, ...]
    # The agent's resolving reply.
    resolutions: tuple[str, ...]
    # Internal notes while the case is worked on.
    notes: tuple[str, ...]
    # The agent asks the customer for something (the case then waits for the customer).
    asks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """One kind of real-world problem: its kind, category and what people write about it."""

    key: str
    kind: str
    category: str
    # Share within its kind (relative weights).
    weight: float
    zh: Texts
    en: Texts
    priority: str = "normal"
    # none | before_delivery | after_delivery | in_use: which order it is about, and when.
    order: str = "none"
    # "" | price | part | total: which amount the case carries.
    amount: str = ""
    tags: tuple[str, ...] = ()
    # Channels it arrives through, when not the general mix.
    channels: tuple[str, ...] = ()
    department: str = ""


# Share of each kind among all cases.
KIND_WEIGHTS: dict[str, float] = {
    "complaint": 42,
    "inquiry": 18,
    "repair": 12,
    "return": 12,
    "exchange": 8,
    "dispute": 8,
}

CHANNEL_WEIGHTS: dict[str, float] = {
    "web": 24,
    "email": 18,
    "phone": 20,
    "chat": 16,
    "social": 6,
    "marketplace": 12,
    "api": 4,
}

_ASK_PHOTOS_ZH = "麻烦您提供一下商品和外包装的照片，以及机身背面的序列号，方便我们核实处理。"
_ASK_PHOTOS_EN = (
    "Could you send photos of the product and its box, and of the serial number label? "
    "That lets us check it quickly."
)
_ASK_RETURN_ZH = "请将商品连同全部配件寄回退货仓，并在包裹内附上写有订单号{order}的纸条。"
_ASK_RETURN_EN = (
    "Please send the item with all accessories to our returns warehouse and include a note "
    "with order number {order}."
)

SCENARIOS: tuple[Scenario, ...] = (
    # ---- complaints: logistics dominate (about 60 %) ---------------------------------------
    Scenario(
        "complaint.delay",
        "complaint",
        "logistics.delay",
        36,
        order="before_delivery",
        zh=Texts(
            subjects=(
                "订单{order}迟迟收不到货",
                "快递{days}天了还没到",
                "物流信息{days}天没有更新",
            ),
            bodies=(
                "您好，我{date}买的{product}，订单号{order}，到现在已经{days}天了还没收到，"
                "物流信息一直停在中转站，{courier}的电话也打不通。请帮忙查一下什么时候能到？",
                "订单{order}，下单时说48小时内发货，结果{days}天了物流都没更新。"
                "我是买来送人的，急用，麻烦尽快处理！",
                "你们合作的{courier}太慢了，{product}显示派送中已经{days}天，快递员一直不接电话。"
                "订单号{order}。",
            ),
            asks=("麻烦您确认一下收货地址和联系电话是否正确，我们好让快递重新派送。",),
            resolutions=(
                "您好，已经为您催促{courier}加急派送，包裹今天已经签收。"
                "对于延误给您带来的不便，我们为您申请了20元无门槛优惠券，已发放到您的账户。",
                "您好，经核实包裹在中转站滞留，我们已为您重新补发，新运单号{tracking}，"
                "预计2天内送达。原包裹如果送到，直接拒收即可。",
            ),
            notes=(
                "已联系{courier}客服提交催件工单。",
                "{courier}反馈中转站爆仓，预计再延误2-3天。",
            ),
        ),
        en=Texts(
            subjects=(
                "Order {order} still not delivered",
                "Parcel {days} days late",
                "No tracking update for {days} days",
            ),
            bodies=(
                "Hello, I ordered the {product} on {date} (order {order}) and it still hasn't "
                "arrived after {days} days. Tracking has been stuck at the sorting centre and "
                "{courier} does not answer the phone. When will it arrive?",
                "My order {order} was supposed to ship within 48 hours, but there has been no "
                "tracking update for {days} days. It's a gift and I need it soon, please help.",
                "The {product} has been 'out for delivery' with {courier} for {days} days now. "
                "The courier never picks up. Order number {order}.",
            ),
            asks=(
                "Could you confirm your delivery address and phone number so we can ask the "
                "courier to deliver again?",
            ),
            resolutions=(
                "We chased {courier} and the parcel was delivered today. To make up for the "
                "delay we've added a CNY 20 voucher to your account.",
                "The parcel was held at a transit hub, so we've sent a replacement: tracking "
                "{tracking}, arriving within 2 days. If the first one turns up, just refuse it.",
            ),
            notes=(
                "Raised a chase ticket with {courier}.",
                "{courier} reports a backlog at the hub; 2-3 more days.",
            ),
        ),
    ),
    Scenario(
        "complaint.damage",
        "complaint",
        "logistics.damage",
        14,
        order="after_delivery",
        tags=("fragile",),
        zh=Texts(
            subjects=("收到的{product}外包装破损，机身有划痕", "快递把{product}摔坏了"),
            bodies=(
                "您好，今天收到{product}，外箱被压扁了，打开发现机身有裂痕。订单号{order}，"
                "已经拍照留证，要求换新。",
                "{courier}送来的包裹明显被摔过，{product}的外壳裂开了，通电后还有异响。"
                "订单{order}，请尽快处理。",
            ),
            asks=("麻烦您提供一下外包装、商品破损处和快递面单的照片，方便我们向快递公司索赔。",),
            resolutions=(
                "您好，照片已收到，我们已为您安排换新，新的{product}今天从仓库发出，"
                "运单号{tracking}。破损件不用寄回。",
            ),
            notes=("已向{courier}发起破损理赔，附客户照片。", "外箱缓冲材料不足，已反馈仓库。"),
        ),
        en=Texts(
            subjects=("Box crushed, {product} damaged", "{product} arrived broken"),
            bodies=(
                "Hi, my {product} arrived today in a crushed box and the casing is cracked. "
                "Order {order}. I have photos of the packaging and want a replacement.",
                "The parcel from {courier} had obviously been dropped: the {product} is split "
                "open and rattles when switched on. Order {order}.",
            ),
            asks=(
                "Could you send photos of the outer box, the damage and the shipping label? "
                "We need them for the claim with the carrier.",
            ),
            resolutions=(
                "Thanks for the photos. A replacement {product} left our warehouse today, "
                "tracking {tracking}. You don't need to send the damaged one back.",
            ),
            notes=(
                "Damage claim filed with {courier}, customer photos attached.",
                "Not enough padding in the box; told the warehouse.",
            ),
        ),
    ),
    Scenario(
        "complaint.loss",
        "complaint",
        "logistics.loss",
        10,
        order="before_delivery",
        zh=Texts(
            subjects=("物流显示已签收但我没收到", "包裹丢失，订单{order}"),
            bodies=(
                "物流显示{product}已经签收了，但我和家人都没有收到，快递柜和门卫也都没有。"
                "订单号{order}，请帮忙查一下是谁签收的。",
                "订单{order}的包裹在{courier}转运途中丢了，快递员说找不到，让我找商家。"
                "我该怎么办？",
            ),
            asks=("请问您方便确认一下是否有家人或邻居代收吗？我们同时在向快递公司核实签收记录。",),
            resolutions=(
                "经与{courier}核实，包裹确认丢失，我们已为您重新发货，运单号{tracking}。"
                "丢件由我们向快递公司追责，不会影响您。",
            ),
            notes=("{courier}确认丢件，已提交丢件理赔。", "签收照片不是客户地址，已截图留存。"),
        ),
        en=Texts(
            subjects=("Marked as delivered but not received", "Parcel lost: order {order}"),
            bodies=(
                "Tracking says the {product} was delivered, but nobody here received it and "
                "it's not in the parcel locker or at reception. Order {order}. Who signed?",
                "{courier} says my parcel for order {order} was lost in transit and told me to "
                "contact the seller. What happens now?",
            ),
            asks=(
                "Could you check whether a neighbour or family member took it in? Meanwhile "
                "we're checking the proof of delivery with the carrier.",
            ),
            resolutions=(
                "{courier} confirmed the parcel is lost. We've shipped a new one (tracking "
                "{tracking}) and will settle the loss with the carrier ourselves.",
            ),
            notes=(
                "{courier} confirmed the loss; claim submitted.",
                "Proof-of-delivery photo shows a different address; saved a screenshot.",
            ),
        ),
    ),
    # ---- complaints: product defects; DOA, wrong item, missing parts about 90 % of them ----
    Scenario(
        "complaint.doa",
        "complaint",
        "product.doa",
        9,
        order="after_delivery",
        zh=Texts(
            subjects=("{product}到货即坏", "新买的{product}开箱就有故障"),
            bodies=(
                "您好，收到的{product}{symptom}，开箱就是坏的，订单号{order}，序列号{serial}。"
                "请问怎么换货？",
                "刚到货的{product}，{symptom}。按说明书重置了也没用，这是新品啊！"
                "订单{order}，要求换新。",
            ),
            asks=("麻烦您拍一段开机的视频，并提供机身背面序列号的照片，我们好为您登记换新。",),
            resolutions=(
                "您好，已为您登记到货即坏换新，新的{product}已发出，运单号{tracking}。"
                "快递员送新机时会同时取回故障机，请保留原包装。",
            ),
            notes=(
                "序列号{serial}与近期其他到货即坏反馈同批次，已反馈产品部排查。",
                "出库检测记录正常，疑似运输中受损。",
            ),
        ),
        en=Texts(
            subjects=("{product} dead on arrival", "New {product} faulty out of the box"),
            bodies=(
                "Hello, the {product} I received is dead on arrival: {symptom}. Order {order}, "
                "serial {serial}. How do I get a replacement?",
                "My brand-new {product} just arrived and {symptom}. A reset as described in "
                "the manual didn't help. Order {order}. I want a new one.",
            ),
            asks=(
                "Could you send a short video of it powering on and a photo of the serial "
                "number label? Then we can book the replacement.",
            ),
            resolutions=(
                "We've registered it as dead on arrival. A new {product} is on its way "
                "(tracking {tracking}); the courier will collect the faulty unit at the same "
                "time, so please keep the original box.",
            ),
            notes=(
                "Serial {serial} is from the same batch as other DOA reports; flagged to "
                "the product team.",
                "Outbound test log was fine; probably damaged in transit.",
            ),
        ),
    ),
    Scenario(
        "complaint.wrong_item",
        "complaint",
        "product.wrong_item",
        6,
        order="after_delivery",
        zh=Texts(
            subjects=("发错货了，我买的是{product}", "收到的商品和订单不符"),
            bodies=(
                "我订的是{product}，收到的却是{wrong}，订单号{order}。请尽快给我换回来，"
                "另外寄回的运费谁出？",
                "打开包裹发现型号不对，订单{order}上写的是{product}，实际发来的是{wrong}。",
            ),
            asks=("麻烦您提供一下收到商品的照片和外箱标签的照片，我们核实后马上安排。",),
            resolutions=(
                "非常抱歉，是仓库拣货出错。正确的{product}已发出，运单号{tracking}；"
                "发错的商品由快递员上门取回，运费由我们承担。",
            ),
            notes=("仓库拣货错误，已通知物流仓储部核查同库位商品。",),
        ),
        en=Texts(
            subjects=("Wrong item received, I ordered the {product}", "Item does not match order"),
            bodies=(
                "I ordered the {product} but received a {wrong}. Order {order}. Please send "
                "the right one. And who pays for the return postage?",
                "The parcel for order {order} contains a {wrong} instead of the {product} "
                "I ordered.",
            ),
            asks=(
                "Could you send a photo of the item you received and of the box label? We'll "
                "sort it out right after.",
            ),
            resolutions=(
                "Sorry, our warehouse picked the wrong item. The correct {product} has shipped "
                "(tracking {tracking}) and the courier will collect the wrong one at our cost.",
            ),
            notes=("Picking error; asked logistics to check the bin location.",),
        ),
    ),
    Scenario(
        "complaint.missing_parts",
        "complaint",
        "product.missing_parts",
        5,
        order="after_delivery",
        zh=Texts(
            subjects=("{product}少了{part}", "包装里缺少配件"),
            bodies=(
                "收到{product}，包装里没有{part}，说明书上写了有的。订单号{order}，请补发。",
                "订单{order}的{product}缺少{part}，没法正常使用，麻烦尽快补寄。",
            ),
            asks=("请问方便拍一下包装内所有物品的照片吗？我们核对一下装箱清单。",),
            resolutions=("已为您免费补发{part}，运单号{tracking}，预计2-3天送达。",),
            notes=("装箱称重记录偏轻，确认漏装。",),
        ),
        en=Texts(
            subjects=("{product} missing the {part}", "Accessories missing from the box"),
            bodies=(
                "My {product} arrived without the {part}, although the manual lists it. "
                "Order {order}. Please send it.",
                "The {product} from order {order} is missing the {part}, so I can't use it. "
                "Please ship it quickly.",
            ),
            asks=(
                "Could you take a photo of everything that was in the box? We'll check it "
                "against the packing list.",
            ),
            resolutions=(
                "We've sent the {part} free of charge, tracking {tracking}; it should arrive "
                "in 2-3 days.",
            ),
            notes=("Packing weight log is light; confirmed missing at packing.",),
        ),
    ),
    Scenario(
        "complaint.quality",
        "complaint",
        "product.quality",
        1.2,
        order="after_delivery",
        zh=Texts(
            subjects=("{product}质量太差",),
            bodies=("用了不到一周，{product}就{fault}，质量太差了。订单{order}，序列号{serial}。",),
            asks=(_ASK_PHOTOS_ZH,),
            resolutions=("已为您安排免费检测，确认为质量问题，新机已发出，运单号{tracking}。",),
            notes=("同型号近期{fault}的反馈增多，已同步产品部。",),
        ),
        en=Texts(
            subjects=("Poor quality: {product}",),
            bodies=(
                "After less than a week the {product} {fault}. Poor quality. Order {order}, "
                "serial {serial}.",
            ),
            asks=(_ASK_PHOTOS_EN,),
            resolutions=(
                "Our inspection confirmed a quality defect, so a new unit has shipped, "
                "tracking {tracking}.",
            ),
            notes=("More reports of this fault on the model lately; told the product team.",),
        ),
    ),
    Scenario(
        "complaint.not_as_described",
        "complaint",
        "product.not_as_described",
        0.8,
        order="after_delivery",
        department="product",
        zh=Texts(
            subjects=("{product}与页面描述不符",),
            bodies=(
                "商品页面写{product}续航30小时，实际用下来不到10小时，跟宣传严重不符。"
                "订单{order}。",
            ),
            resolutions=("已核实商品页续航数据标注有误，现已更正，并为您办理全额退款。",),
            notes=("详情页续航写的是含充电盒总续航，文案有歧义，已提交修改。",),
        ),
        en=Texts(
            subjects=("{product} not as described",),
            bodies=(
                "The product page promises 30 hours of battery life for the {product}; I get "
                "less than 10. That's not what was advertised. Order {order}.",
            ),
            resolutions=(
                "The battery figure on the page was misleading; it has been corrected and we've "
                "refunded you in full.",
            ),
            notes=("The page quotes battery life including the case; wording fixed.",),
        ),
    ),
    # ---- complaints: service and transaction --------------------------------------------
    Scenario(
        "complaint.slow_response",
        "complaint",
        "service.slow_response",
        5,
        zh=Texts(
            subjects=("客服一直不回复", "售后申请一周没人处理"),
            bodies=(
                "我上周提交的售后申请到现在没人处理，打了三次电话都说会回电，结果没有任何消息。"
                "请给我一个明确的答复！",
                "在线客服排队{days}个小时都没人接，留言也不回复，你们的售后效率太低了。",
            ),
            asks=("麻烦提供一下之前的服务单号或来电号码，我们立即核查。",),
            resolutions=(
                "非常抱歉让您久等，您之前的售后申请已经处理完毕，退款已原路返回。"
                "我们已对相关同事进行了提醒。",
            ),
            notes=("核查发现上一张单被分派给了已离职同事，已重新分派。",),
        ),
        en=Texts(
            subjects=("Nobody answers my request", "Service request ignored for a week"),
            bodies=(
                "I submitted a service request last week and nobody has handled it. I called "
                "three times and was promised a call back that never came. I want an answer!",
                "I waited in the chat queue for {days} hours and my message was never "
                "answered. This is far too slow.",
            ),
            asks=(
                "Could you give us the earlier case number or the phone number you called "
                "from? We'll check at once.",
            ),
            resolutions=(
                "We're sorry for the wait. Your earlier request is now handled and the refund "
                "is on its way back to your card. We've followed up with the team.",
            ),
            notes=("Previous case was routed to a colleague who has left; reassigned.",),
        ),
    ),
    Scenario(
        "complaint.attitude",
        "complaint",
        "service.attitude",
        3,
        zh=Texts(
            subjects=("投诉客服态度恶劣",),
            bodies=(
                "今天打电话咨询{product}退货，客服态度很差，我话还没说完就把电话挂了。"
                "我要求你们给个说法。",
            ),
            asks=("麻烦您告诉我们来电的大致时间和号码，方便我们调取录音核实。",),
            resolutions=(
                "已调取通话录音核实，确实是我们服务不到位，向您郑重道歉。"
                "相关同事已接受培训，您的退货申请我已亲自跟进处理完毕。",
            ),
            notes=("已调取录音，转主管处理。",),
        ),
        en=Texts(
            subjects=("Complaint about a rude agent",),
            bodies=(
                "I called today about returning my {product}. The agent was rude and hung up "
                "on me mid-sentence. I expect an apology.",
            ),
            asks=(
                "Could you tell us roughly when you called and from which number, so we can "
                "review the recording?",
            ),
            resolutions=(
                "We reviewed the recording and you're right: that was not acceptable, and we "
                "apologise. The agent has been coached and I've completed your return myself.",
            ),
            notes=("Recording pulled; passed to the supervisor.",),
        ),
    ),
    Scenario(
        "complaint.after_sales",
        "complaint",
        "service.after_sales",
        3,
        order="in_use",
        zh=Texts(
            subjects=("售后处理结果不满意", "{product}修了两次还是坏"),
            bodies=(
                "{product}寄修回来问题依旧，这已经是第二次了，序列号{serial}。"
                "要求直接换新或者退款。",
            ),
            resolutions=("经主管审批，为您办理直接换新，新机已发出，运单号{tracking}。",),
            notes=("该序列号两次维修记录均为同一故障，申请换新审批。",),
        ),
        en=Texts(
            subjects=("Unhappy with the repair", "{product} repaired twice, still broken"),
            bodies=(
                "My {product} came back from repair with the same fault, for the second time. "
                "Serial {serial}. I want a replacement or a refund.",
            ),
            resolutions=(
                "With the supervisor's approval we're replacing the unit outright; the new one "
                "has shipped, tracking {tracking}.",
            ),
            notes=("Two repairs on this serial for the same fault; requested a swap.",),
        ),
    ),
    Scenario(
        "complaint.account_stolen",
        "complaint",
        "transaction.payment_security",
        2,
        priority="urgent",
        amount="price",
        tags=("security",),
        zh=Texts(
            subjects=("账号被盗，有陌生订单", "账号被盗，余额被盗用"),
            bodies=(
                "我的账号被盗了！今天凌晨收到短信，有人用我的账号下了两单，收货地址不是我的，"
                "绑定手机也被改了。请立即冻结账号！",
                "账号被盗，余额被人用掉了{amount}元，我根本没有登录过。急！",
            ),
            asks=("为确认是您本人，请提供注册手机号和您最近一笔自己下单的订单号。",),
            resolutions=(
                "账号已冻结并重置密码，异常订单已拦截取消，{amount}元已原路退回。"
                "建议您开启登录短信验证。",
            ),
            notes=("登录IP异常，已转技术部风控核查。", "异常订单已在发货前拦截。"),
        ),
        en=Texts(
            subjects=("Account hacked: orders I didn't place", "Account stolen, balance spent"),
            bodies=(
                "My account has been hacked! Overnight someone placed two orders with it to an "
                "address that isn't mine and changed my phone number. Freeze it now, please!",
                "Someone got into my account and spent {amount} {currency} of my balance. "
                "I never logged in. Urgent!",
            ),
            asks=(
                "To confirm it's you, please give the phone number you registered with and the "
                "last order you placed yourself.",
            ),
            resolutions=(
                "The account is frozen and the password reset. The suspicious orders were "
                "stopped and {amount} {currency} refunded. Please turn on SMS login "
                "verification.",
            ),
            notes=(
                "Logins from an unusual IP range; escalated to tech for a risk check.",
                "Fraudulent orders intercepted before shipping.",
            ),
        ),
    ),
    Scenario(
        "complaint.cancellation",
        "complaint",
        "transaction.cancellation",
        2,
        order="before_delivery",
        amount="price",
        zh=Texts(
            subjects=("申请取消订单被拒",),
            bodies=(
                "订单{order}我下单10分钟就申请取消了，结果还是发货了，"
                "现在还要我自己出运费退回，不合理。",
            ),
            resolutions=(
                "已为您拦截包裹退回仓库，货款{amount}元将在1-3个工作日内原路退回，无需您承担运费。",
            ),
            notes=("取消申请与出库同一时间，系统未拦截，已提交技术部。",),
        ),
        en=Texts(
            subjects=("Cancellation ignored",),
            bodies=(
                "I cancelled order {order} ten minutes after placing it, but it shipped anyway "
                "and now I'm asked to pay the return postage. That's not fair.",
            ),
            resolutions=(
                "We've intercepted the parcel. The {amount} {currency} will be refunded within "
                "1-3 working days and you pay no postage.",
            ),
            notes=("Cancellation and dispatch crossed; reported to tech.",),
        ),
    ),
    Scenario(
        "complaint.refund_delay",
        "complaint",
        "transaction.refund",
        3,
        order="after_delivery",
        amount="price",
        zh=Texts(
            subjects=("退货已签收，退款{days}天还没到账",),
            bodies=(
                "我退回的{product}仓库{days}天前就签收了，退款到现在还没到账。"
                "订单{order}，金额{amount}元。",
            ),
            resolutions=("已核实退款在财务系统中卡单，现已重新提交，{amount}元预计24小时内到账。",),
            notes=("退款单状态异常，已联系财务处理。",),
        ),
        en=Texts(
            subjects=("Refund missing {days} days after my return",),
            bodies=(
                "Your warehouse received my returned {product} {days} days ago and I still "
                "don't have my refund of {amount} {currency}. Order {order}.",
            ),
            resolutions=(
                "The refund was stuck in our payment system. It has been resubmitted and the "
                "{amount} {currency} should reach you within 24 hours.",
            ),
            notes=("Refund stuck in payment run; finance asked to push it.",),
        ),
    ),
    # ---- inquiries (mostly low priority) --------------------------------------------------
    Scenario(
        "inquiry.shipping",
        "inquiry",
        "logistics.delay",
        25,
        priority="low",
        order="before_delivery",
        zh=Texts(
            subjects=("请问订单{order}什么时候发货？",),
            bodies=("你好，我{date}下的单，{product}，现在还显示待发货，请问大概什么时候能发？",),
            resolutions=("您好，您的订单已于今天发出，{courier}运单号{tracking}，预计2-3天送达。",),
            notes=("该商品本周到货，今天统一发出。",),
        ),
        en=Texts(
            subjects=("When will order {order} ship?",),
            bodies=(
                "Hi, I ordered a {product} on {date} and it still says 'awaiting shipment'. "
                "When will it be sent?",
            ),
            resolutions=(
                "Your order shipped today with {courier}, tracking {tracking}; expect it in "
                "2-3 days.",
            ),
            notes=("Stock arrived this week; shipped with today's batch.",),
        ),
    ),
    Scenario(
        "inquiry.warranty",
        "inquiry",
        "service.after_sales",
        20,
        priority="low",
        order="in_use",
        zh=Texts(
            subjects=("{product}保修期多久？",),
            bodies=(
                "请问{product}的保修期是多久？我是{date}买的，序列号{serial}，现在还在保修期内吗？",
            ),
            resolutions=(
                "您好，{product}享受{warranty}个月保修，按您的购买日期计算目前仍在保修期内，"
                "如有问题可以直接在线申请寄修。",
            ),
            notes=("已核对购买记录，保修有效。",),
        ),
        en=Texts(
            subjects=("Warranty period for the {product}?",),
            bodies=(
                "How long is the warranty on the {product}? I bought it on {date}, serial "
                "{serial}. Am I still covered?",
            ),
            resolutions=(
                "The {product} has a {warranty}-month warranty and, going by your purchase "
                "date, you're still covered. You can book a repair online any time.",
            ),
            notes=("Checked the purchase record; warranty valid.",),
        ),
    ),
    Scenario(
        "inquiry.setup",
        "inquiry",
        "",
        18,
        priority="low",
        order="after_delivery",
        zh=Texts(
            subjects=("{product}怎么连接手机App？", "{product}配对失败"),
            bodies=(
                "新买的{product}，按说明书操作了还是连不上手机App，请问具体步骤是什么？",
                "{product}一直配对失败，手机蓝牙能搜到但是连不上，请问怎么办？",
            ),
            resolutions=(
                "您好，请先在App中登录账号，长按设备按键5秒至指示灯闪烁，"
                "再在App首页点击“添加设备”。如仍有问题可随时联系我们。",
            ),
            notes=("已发送配网教程视频链接。",),
        ),
        en=Texts(
            subjects=("How do I connect the {product} to the app?", "{product} won't pair"),
            bodies=(
                "I followed the manual but the {product} won't connect to the app. What are "
                "the exact steps?",
                "My phone sees the {product} over Bluetooth but pairing always fails. What "
                "should I do?",
            ),
            resolutions=(
                "Sign in to the app, hold the button on the device for 5 seconds until the "
                "light flashes, then tap 'Add device' on the home screen. Let us know if it "
                "still doesn't work.",
            ),
            notes=("Sent the set-up video link.",),
        ),
    ),
    Scenario(
        "inquiry.invoice",
        "inquiry",
        "",
        12,
        priority="low",
        order="after_delivery",
        zh=Texts(
            subjects=("申请开具增值税专用发票",),
            bodies=("订单{order}需要开增值税专用发票，公司抬头和税号稍后发邮件，请问多久能开好？",),
            asks=("请将公司抬头、税号、开户行及账号回复给我们，收到后3个工作日内开具。",),
            resolutions=("电子发票已开具并发送到您的邮箱，请查收。",),
            notes=("已提交财务开票。",),
        ),
        en=Texts(
            subjects=("Invoice request for order {order}",),
            bodies=(
                "Could you issue a VAT invoice for order {order}? I'll e-mail the company "
                "details. How long does it take?",
            ),
            asks=(
                "Please reply with the company name, tax number and bank details; the invoice "
                "follows within 3 working days.",
            ),
            resolutions=("The e-invoice has been issued and sent to your e-mail address.",),
            notes=("Passed to finance for invoicing.",),
        ),
    ),
    Scenario(
        "inquiry.login",
        "inquiry",
        "transaction.payment_security",
        8,
        priority="urgent",
        department="tech",
        zh=Texts(
            subjects=("无法登录账号，收不到验证码",),
            bodies=(
                "从昨天开始无法登录，一直提示密码错误，找回密码的短信验证码也收不到。"
                "账号里还有没处理完的售后单，很着急。",
            ),
            resolutions=(
                "已为您解除账号锁定并重置短信验证码的频率限制，现在可以正常登录了，"
                "建议尽快修改密码。",
            ),
            notes=("短信通道对该号段限流，已加入白名单。",),
        ),
        en=Texts(
            subjects=("Can't log in, no verification code",),
            bodies=(
                "Since yesterday I can't log in: it says wrong password, and the SMS code for "
                "the reset never arrives. I have an open service request, please help.",
            ),
            resolutions=(
                "We've cleared the lock-out and the SMS rate limit; you can log in again. "
                "Please change your password soon.",
            ),
            notes=("SMS provider throttled this number range; added to the allow-list.",),
        ),
    ),
    Scenario(
        "inquiry.refund_status",
        "inquiry",
        "transaction.refund",
        10,
        priority="low",
        order="after_delivery",
        zh=Texts(
            subjects=("退款进度查询",),
            bodies=("请问订单{order}的退款现在到哪一步了？申请已经{days}天了。",),
            resolutions=("您的退款已审核通过，预计1-3个工作日原路退回。",),
            notes=("退款已审核，等待财务打款。",),
        ),
        en=Texts(
            subjects=("Refund status for order {order}?",),
            bodies=("Where is the refund for order {order}? I applied {days} days ago.",),
            resolutions=(
                "Your refund is approved and will reach your original payment method in 1-3 "
                "working days.",
            ),
            notes=("Refund approved; waiting for the payment run.",),
        ),
    ),
    Scenario(
        "inquiry.cancel",
        "inquiry",
        "transaction.cancellation",
        7,
        order="before_delivery",
        zh=Texts(
            subjects=("还没发货能取消订单吗？",),
            bodies=("订单{order}拍错了型号，还没发货，请帮我取消，谢谢。",),
            resolutions=("订单已为您取消，款项将原路退回。",),
            notes=("已在仓库拦截出库。",),
        ),
        en=Texts(
            subjects=("Can I cancel before it ships?",),
            bodies=(
                "I ordered the wrong model in order {order}. It hasn't shipped yet; please "
                "cancel it.",
            ),
            resolutions=("Your order is cancelled and the payment will be refunded.",),
            notes=("Stopped at the warehouse before dispatch.",),
        ),
    ),
    # ---- repairs ------------------------------------------------------------------------
    Scenario(
        "repair.fault",
        "repair",
        "product.quality",
        60,
        order="in_use",
        zh=Texts(
            subjects=("{product}申请保修", "{product}出现故障，申请寄修"),
            bodies=(
                "{product}用了几个月，最近{fault}，还在保修期内，序列号{serial}，请安排维修。",
                "我的{product}（序列号{serial}）最近{fault}，重启也没用，申请寄修。",
            ),
            asks=("请您将设备连同保修卡寄到维修中心，寄件时请在包裹里注明服务单号{number}。",),
            resolutions=(
                "您的{product}已检测完成，已免费更换故障部件并寄回，运单号{tracking}。",
                "维修中心检测后为您更换了主板，设备已寄回，运单号{tracking}，保修期顺延90天。",
            ),
            notes=(
                "已收到客户寄回设备，外观无进水无摔痕。",
                "检测结果：主板供电故障，保内免费维修。",
            ),
        ),
        en=Texts(
            subjects=("Warranty repair for the {product}", "{product} faulty: repair request"),
            bodies=(
                "My {product} is a few months old and recently {fault}. It's under warranty, "
                "serial {serial}. Please arrange a repair.",
                "My {product} (serial {serial}) {fault}, and restarting doesn't help. I'd like "
                "to send it in for repair.",
            ),
            asks=(
                "Please send the device with its warranty card to our repair centre and put "
                "the case number {number} inside the parcel.",
            ),
            resolutions=(
                "We've finished testing your {product}, replaced the faulty part free of "
                "charge and sent it back, tracking {tracking}.",
                "The repair centre replaced the main board; the device is on its way back "
                "(tracking {tracking}) and the warranty is extended by 90 days.",
            ),
            notes=(
                "Device received; no signs of liquid or drop damage.",
                "Diagnosis: power circuit fault on the main board; in-warranty repair.",
            ),
        ),
    ),
    Scenario(
        "repair.safety",
        "repair",
        "product.quality",
        6,
        priority="urgent",
        order="in_use",
        amount="part",
        tags=("safety",),
        zh=Texts(
            subjects=("{product}充电时冒烟", "{product}冒烟起火，有安全隐患"),
            bodies=(
                "昨晚{product}在充电时突然冒烟，有很浓的焦味，插头都烫了，幸好及时拔掉。"
                "序列号{serial}，现在完全不敢用了！",
                "{product}使用中外壳发烫，还冒烟起火了一下，差点烧到桌子。这是严重的安全问题！",
            ),
            asks=(
                "请立即停止使用并断电，放在远离易燃物的地方。"
                "麻烦提供设备和充电器的照片，我们安排专人上门取件。",
            ),
            resolutions=(
                "经检测为电池批次缺陷，已为您更换全新{product}，并补偿{amount}元，"
                "感谢您的及时反馈。",
            ),
            notes=("安全事件，已上报产品部和质量部，同批次序列号需要排查。",),
        ),
        en=Texts(
            subjects=("{product} smoking while charging", "Safety issue: {product} caught fire"),
            bodies=(
                "Last night my {product} started smoking while charging: a strong burning "
                "smell and the plug was hot. I unplugged it just in time. Serial {serial}. "
                "I'm afraid to use it now!",
                "The {product} overheated and briefly caught fire on my desk. This is a serious "
                "safety issue!",
            ),
            asks=(
                "Please stop using it, unplug it and keep it away from anything flammable. "
                "Could you send photos of the device and charger? We'll have it collected.",
            ),
            resolutions=(
                "Testing found a battery batch defect. We've replaced your {product} with a "
                "new one and added {amount} {currency} in compensation. Thank you for telling "
                "us so quickly.",
            ),
            notes=("Safety incident: reported to product and quality; checking the batch.",),
        ),
    ),
    Scenario(
        "repair.paid",
        "repair",
        "service.after_sales",
        12,
        order="in_use",
        amount="part",
        zh=Texts(
            subjects=("过保维修报价",),
            bodies=(
                "我的{product}过保了，想付费维修，请问大概多少钱？序列号{serial}，问题是{fault}。",
            ),
            asks=("检测后维修费用为{amount}元（含配件和人工），请您确认是否维修。",),
            resolutions=("维修已完成，费用{amount}元已按报价支付，设备已寄回，运单号{tracking}。",),
            notes=("客户确认报价，开始维修。",),
        ),
        en=Texts(
            subjects=("Paid repair quote",),
            bodies=(
                "My {product} is out of warranty. What would a paid repair cost? Serial "
                "{serial}; the problem is that it {fault}.",
            ),
            asks=(
                "After testing, the repair costs {amount} {currency} including parts and "
                "labour. Shall we go ahead?",
            ),
            resolutions=(
                "The repair is done; the {amount} {currency} quoted was paid and the device is "
                "on its way back, tracking {tracking}.",
            ),
            notes=("Customer accepted the quote; repair started.",),
        ),
    ),
    # ---- returns --------------------------------------------------------------------------
    Scenario(
        "return.no_reason",
        "return",
        "transaction.refund",
        40,
        priority="low",
        order="after_delivery",
        amount="price",
        zh=Texts(
            subjects=("申请七天无理由退货",),
            bodies=(
                "{product}收到后觉得不太适合，包装和配件都完好，申请七天无理由退货，订单{order}。",
            ),
            asks=(_ASK_RETURN_ZH,),
            resolutions=("退货已入库检验合格，{amount}元已原路退回，预计1-3个工作日到账。",),
            notes=("退货入库检验：包装完好，配件齐全，可二次销售。",),
        ),
        en=Texts(
            subjects=("Return within 7 days",),
            bodies=(
                "The {product} isn't right for me. Everything is complete and as new; I'd like "
                "to return it under the 7-day policy. Order {order}.",
            ),
            asks=(_ASK_RETURN_EN,),
            resolutions=(
                "Your return passed inspection and {amount} {currency} has been refunded to "
                "your original payment method; allow 1-3 working days.",
            ),
            notes=("Returns inspection: complete, as new, resellable.",),
        ),
    ),
    Scenario(
        "return.not_as_described",
        "return",
        "product.not_as_described",
        12,
        order="after_delivery",
        amount="price",
        zh=Texts(
            subjects=("商品与描述不符，申请退货退款",),
            bodies=(
                "页面写的{product}是全新正品，收到的却像翻新机，包装有拆封痕迹。"
                "订单{order}，要求退货退款。",
            ),
            asks=(_ASK_RETURN_ZH,),
            resolutions=("退货已签收，{amount}元已全额退回，来回运费由我们承担。",),
            notes=("入库检验：机身有使用痕迹，疑似退货翻新品误发，已追查批次。",),
        ),
        en=Texts(
            subjects=("Not as described: return and refund",),
            bodies=(
                "The listing said the {product} was brand new, but the one I got looks "
                "refurbished and the seal was broken. Order {order}. I want a refund.",
            ),
            asks=(_ASK_RETURN_EN,),
            resolutions=(
                "We've received the return and refunded {amount} {currency} in full, "
                "including postage both ways.",
            ),
            notes=("Inspection: signs of use; a returned unit was resold by mistake.",),
        ),
    ),
    Scenario(
        "return.doa",
        "return",
        "product.doa",
        30,
        order="after_delivery",
        amount="price",
        zh=Texts(
            subjects=("{product}到货即坏，申请退货",),
            bodies=("收到的{product}{symptom}，不想换了，直接退货退款。订单{order}。",),
            asks=(_ASK_RETURN_ZH,),
            resolutions=("故障已确认，{amount}元已原路退回，请注意查收。",),
            notes=("入库检测确认故障：{symptom}。",),
        ),
        en=Texts(
            subjects=("Return dead-on-arrival {product}",),
            bodies=(
                "The {product} arrived dead: {symptom}. I don't want a replacement, just a "
                "refund. Order {order}.",
            ),
            asks=(_ASK_RETURN_EN,),
            resolutions=("Fault confirmed; {amount} {currency} has been refunded.",),
            notes=("Inspection confirms the fault: {symptom}.",),
        ),
    ),
    Scenario(
        "return.wrong_item",
        "return",
        "product.wrong_item",
        18,
        order="after_delivery",
        amount="price",
        zh=Texts(
            subjects=("发错型号，申请退款",),
            bodies=(
                "我要的是{product}，发来的是{wrong}，不想等换货了，申请退货退款，订单{order}。",
            ),
            asks=("快递员会上门取回发错的商品，请保持电话畅通。",),
            resolutions=("发错的商品已取回，{amount}元已全额退款，给您添麻烦了。",),
            notes=("拣货错误，已登记差错。",),
        ),
        en=Texts(
            subjects=("Wrong model sent: refund please",),
            bodies=(
                "I wanted the {product} and got a {wrong}. I don't want to wait for an "
                "exchange; please refund order {order}.",
            ),
            asks=("A courier will collect the wrong item; please keep your phone on.",),
            resolutions=("We've collected the wrong item and refunded {amount} {currency}.",),
            notes=("Picking error logged.",),
        ),
    ),
    # ---- exchanges --------------------------------------------------------------------------
    Scenario(
        "exchange.doa",
        "exchange",
        "product.doa",
        45,
        order="after_delivery",
        zh=Texts(
            subjects=("{product}故障，申请换新",),
            bodies=("收到才两天，{product}{symptom}，申请换新机。订单{order}，序列号{serial}。",),
            asks=(_ASK_PHOTOS_ZH,),
            resolutions=("换新已办理，新的{product}已发出，运单号{tracking}，旧机请交给快递员。",),
            notes=("符合15天换新政策，已审批。",),
        ),
        en=Texts(
            subjects=("Replace faulty {product}",),
            bodies=(
                "Two days after delivery the {product} is faulty: {symptom}. I'd like a "
                "replacement. Order {order}, serial {serial}.",
            ),
            asks=(_ASK_PHOTOS_EN,),
            resolutions=(
                "Exchange approved: a new {product} has shipped (tracking {tracking}); please "
                "hand the old one to the courier.",
            ),
            notes=("Within the 15-day exchange window; approved.",),
        ),
    ),
    Scenario(
        "exchange.wrong_item",
        "exchange",
        "product.wrong_item",
        30,
        order="after_delivery",
        zh=Texts(
            subjects=("颜色发错了，申请换货",),
            bodies=("我下单选的是黑色{product}，收到的是白色，订单{order}，请帮忙换成黑色。",),
            resolutions=("黑色{product}已发出，运单号{tracking}，白色的请交给上门取件的快递员。",),
            notes=("库存确认黑色有货，已锁定。",),
        ),
        en=Texts(
            subjects=("Wrong colour: exchange please",),
            bodies=(
                "I ordered the {product} in black but got white. Order {order}. Please swap it "
                "for black.",
            ),
            resolutions=(
                "The black {product} has shipped (tracking {tracking}); please give the white "
                "one to the courier who collects it.",
            ),
            notes=("Black in stock; reserved.",),
        ),
    ),
    Scenario(
        "exchange.missing_parts",
        "exchange",
        "product.missing_parts",
        25,
        order="after_delivery",
        zh=Texts(
            subjects=("缺少{part}，申请整套换货",),
            bodies=("{product}少了{part}，补发太慢了，我想直接换一套完整的，订单{order}。",),
            resolutions=("完整的{product}已发出，运单号{tracking}。",),
            notes=("客户要求整套换货，已同意。",),
        ),
        en=Texts(
            subjects=("Missing {part}: exchange for a complete set",),
            bodies=(
                "My {product} came without the {part}. Sending the part separately is too "
                "slow; I'd rather exchange it for a complete set. Order {order}.",
            ),
            resolutions=("A complete {product} has shipped, tracking {tracking}.",),
            notes=("Customer asked for a full swap; agreed.",),
        ),
    ),
    # ---- disputes ---------------------------------------------------------------------------
    Scenario(
        "dispute.refund_refused",
        "dispute",
        "transaction.refund",
        35,
        order="after_delivery",
        amount="price",
        zh=Texts(
            subjects=("退款纠纷：拒绝退款理由不成立",),
            bodies=(
                "{product}有质量问题，申请退款被拒，理由是“人为损坏”，我根本没摔过。"
                "订单{order}，金额{amount}元，要求全额退款，否则我会向消费者协会投诉。",
            ),
            asks=("麻烦您提供一下收货时的开箱照片或视频，我们重新复核。",),
            resolutions=("复核后确认非人为损坏，已为您全额退款{amount}元，向您致歉。",),
            notes=("质检照片不足以证明人为损坏，建议全额退款。",),
        ),
        en=Texts(
            subjects=("Refund refused: I dispute the decision",),
            bodies=(
                "My refund for the {product} was refused as 'customer damage', which is not "
                "true. Order {order}, {amount} {currency}. I want a full refund or I'll go to "
                "the consumer association.",
            ),
            asks=(
                "Could you send any photos or video from when you unpacked it? We'll review "
                "the decision.",
            ),
            resolutions=(
                "On review there is no evidence of customer damage. We've refunded {amount} "
                "{currency} in full and apologise.",
            ),
            notes=("Inspection photos don't prove customer damage; full refund advised.",),
        ),
    ),
    Scenario(
        "dispute.double_charge",
        "dispute",
        "transaction.refund",
        20,
        order="after_delivery",
        amount="total",
        zh=Texts(
            subjects=("同一订单被重复扣款",),
            bodies=(
                "订单{order}支付时网络卡了一下，结果银行卡被扣了两次款，每次{amount}元，"
                "请把多扣的退给我。",
            ),
            resolutions=("已核实重复扣款，多扣的{amount}元已原路退回。",),
            notes=("支付渠道对账确认重复扣款。",),
        ),
        en=Texts(
            subjects=("Charged twice for order {order}",),
            bodies=(
                "Payment for order {order} hung and my card was charged twice, {amount} "
                "{currency} each time. Please refund the duplicate.",
            ),
            resolutions=("We confirmed the double charge; {amount} {currency} is refunded.",),
            notes=("Payment provider reconciliation confirms a duplicate capture.",),
        ),
    ),
    Scenario(
        "dispute.compensation",
        "dispute",
        "logistics.delay",
        20,
        order="after_delivery",
        amount="part",
        tags=("compensation",),
        zh=Texts(
            subjects=("延误赔偿金额有异议",),
            bodies=(
                "订单{order}延误了{days}天，你们只给20元优惠券，我觉得不合理，"
                "要求按订单金额的一部分赔偿，即{amount}元。",
            ),
            resolutions=("经主管审批，同意补偿{amount}元，已退回您的支付账户。",),
            notes=("补偿金额超出客服权限，已提交主管审批。",),
        ),
        en=Texts(
            subjects=("Disputing the compensation for a late delivery",),
            bodies=(
                "Order {order} arrived {days} days late and I was offered a CNY 20 voucher. "
                "That's not reasonable; I'm asking for {amount} {currency}.",
            ),
            resolutions=(
                "The supervisor approved {amount} {currency} in compensation; it has been paid "
                "back to your account.",
            ),
            notes=("Amount above agent limit; sent for supervisor approval.",),
        ),
    ),
    Scenario(
        "dispute.marketplace",
        "dispute",
        "logistics.loss",
        15,
        order="before_delivery",
        amount="price",
        channels=("marketplace",),
        zh=Texts(
            subjects=("平台纠纷：买家申请“未收到货”退款",),
            bodies=(
                "【平台同步】买家在平台发起纠纷：订单{order}，商品{product}，理由：未收到货，"
                "申请退款{amount}元。买家留言：物流显示签收但本人未收到。",
            ),
            resolutions=("已在平台上传{courier}的丢件证明并同意退款{amount}元，纠纷已关闭。",),
            notes=("平台纠纷48小时内需举证，已调取签收记录。",),
        ),
        en=Texts(
            subjects=("Marketplace dispute: item not received",),
            bodies=(
                "[Marketplace sync] The buyer opened a dispute on order {order} ({product}): "
                "item not received, refund requested {amount} {currency}. Buyer's note: "
                "tracking says delivered but I never got it.",
            ),
            resolutions=(
                "We uploaded {courier}'s loss confirmation and accepted the {amount} "
                "{currency} refund; the dispute is closed.",
            ),
            notes=("Marketplace needs evidence within 48 hours; pulled the delivery record.",),
        ),
    ),
    Scenario(
        "dispute.counterfeit",
        "dispute",
        "product.counterfeit",
        10,
        order="after_delivery",
        amount="price",
        department="product",
        zh=Texts(
            subjects=("怀疑买到假货",),
            bodies=(
                "在官方App上查询{product}的序列号{serial}，显示不存在，怀疑是假货。"
                "订单{order}，要求退一赔三。",
            ),
            asks=("请寄回商品，我们安排品牌方鉴定，鉴定费用由我们承担。",),
            resolutions=(
                "鉴定结果为正品，序列号查询异常是因为该批次未同步到查询系统，"
                "现已修复。为表歉意补偿您{amount}元。",
            ),
            notes=("序列号批次漏同步到查询系统，已提交技术部修复。",),
        ),
        en=Texts(
            subjects=("Suspected counterfeit {product}",),
            bodies=(
                "The serial {serial} of my {product} doesn't exist in the official app. I "
                "think it's fake. Order {order}. I want a refund and compensation.",
            ),
            asks=("Please send the item back; the brand will authenticate it at our cost.",),
            resolutions=(
                "Authentication shows it is genuine: that batch was missing from the lookup "
                "service, which is now fixed. We've added {amount} {currency} as an apology.",
            ),
            notes=("Serial batch never synced to the lookup service; tech is fixing it.",),
        ),
    ),
)


@dataclass(frozen=True)
class Phrases:
    """Replies and notes that fit any scenario, in one language."""

    acknowledgements: tuple[str, ...]
    # What an agent asks for when the scenario has no specific question.
    asks: tuple[str, ...]
    signature: str
    follow_ups: tuple[str, ...]
    chasers: tuple[str, ...]
    chase_answers: tuple[str, ...]
    thanks: tuple[str, ...]
    withdrawals: tuple[str, ...]
    waiting_notes: tuple[str, ...]
    resumed_notes: tuple[str, ...]
    cancel_note: str
    duplicate_note: str
    vip_note: str
    handover_note: str
    channel_prefixes: dict[str, str]


PHRASES: dict[str, Phrases] = {
    "zh-hans": Phrases(
        acknowledgements=(
            "您好，我是售后客服{agent}，非常抱歉给您带来不便。您的问题已经收到，"
            "服务单号{number}，我会全程跟进处理。",
            "{customer}您好，感谢您的耐心等待。关于您反馈的问题，我这边正在核实，"
            "有进展会第一时间通知您。",
            "您好，非常抱歉给您带来不好的体验！已为您登记服务单{number}，请您放心，"
            "我们会尽快处理。",
            "{customer}您好，您反映的情况我们非常重视，已经安排专人跟进，预计24小时内给您答复。",
        ),
        asks=(
            "为了尽快帮您处理，麻烦提供一下订单号和相关照片。",
            "请问您方便接听电话吗？我们想和您确认一下具体情况。",
        ),
        signature="\n\n——售后服务 {agent}",
        follow_ups=(
            "照片已经按要求上传了，请查收。",
            "好的，视频已经发给你们了，请看一下。",
            "地址和电话都是对的，麻烦再联系一下快递。",
            "东西已经寄出了，运单号{customer_tracking}。",
            "信息都发过去了，麻烦尽快处理，谢谢。",
        ),
        chasers=(
            "请问现在处理得怎么样了？已经好几天了。",
            "还没有结果吗？麻烦尽快给个答复。",
            "你好，我想问一下进度，什么时候能解决？",
        ),
        chase_answers=(
            "您好，您的服务单一直在处理中，目前在等待相关部门的结果，预计1-2天内给您答复。",
            "非常抱歉让您久等了，我刚刚又催促了一次，今天之内给您回复。",
        ),
        thanks=(
            "收到了，问题已经解决，谢谢！",
            "好的，没问题了，服务很到位。",
            "已经收到了，谢谢你们的帮助。",
            "确认解决，辛苦了。",
        ),
        withdrawals=(
            "不好意思，问题已经自己解决了，不需要处理了。",
            "我已经在平台上申请退款了，这边的单子可以关掉。",
            "东西找到了，是家里人代收的，打扰了。",
        ),
        waiting_notes=(
            "已提交仓库核实库存，等待回复。",
            "已转维修中心检测，等待检测结果。",
            "需财务审批，已提交申请。",
            "已联系{courier}核实，等待快递公司答复。",
        ),
        resumed_notes=(
            "相关部门已回复，继续处理。",
            "审批已通过。",
            "检测结果已出，按结果处理。",
        ),
        cancel_note="客户表示无需处理，取消服务单。",
        duplicate_note="与{original}重复，合并到原服务单处理。",
        vip_note="{tier}会员，请优先处理。",
        handover_note="交接：转给{agent}继续跟进。",
        channel_prefixes={
            "phone": "【来电记录】",
            "social": "【微博私信】",
            "marketplace": "【平台买家留言】",
            "api": "【商城同步】",
        },
    ),
    "en": Phrases(
        acknowledgements=(
            "Hello {customer}, I'm {agent} from the after-sales team, and I'm sorry for the "
            "trouble. We've logged your request as {number} and I'll see it through.",
            "Hi {customer}, thanks for your patience. I'm looking into this now and will "
            "update you as soon as I know more.",
            "Hello, sorry about this experience. Your case number is {number}; we'll get back "
            "to you shortly.",
            "Hi {customer}, we take this seriously and someone is on it. Expect an answer "
            "within 24 hours.",
        ),
        asks=(
            "To sort this out quickly, could you send the order number and a few photos?",
            "Could we call you to go through the details? Please let us know a good time.",
        ),
        signature="\n\nBest regards,\n{agent}, Customer Care",
        follow_ups=(
            "I've uploaded the photos as requested.",
            "Video sent, please have a look.",
            "The address and phone number are correct; please chase the courier again.",
            "I've sent it off, tracking {customer_tracking}.",
            "All the details are sent. Please hurry, thanks.",
        ),
        chasers=(
            "Any update? It's been a few days.",
            "Still waiting for an answer; please hurry.",
            "Hi, could you tell me when this will be resolved?",
        ),
        chase_answers=(
            "Your case is in progress; we're waiting on another team and expect to update you "
            "within 1-2 days.",
            "Sorry for the wait. I've chased it again and will reply today.",
        ),
        thanks=(
            "Received, all sorted. Thank you!",
            "Works now, thanks for the quick help.",
            "Got it, thanks for your help.",
            "Confirmed, that solves it.",
        ),
        withdrawals=(
            "Sorry, I sorted it out myself; no need to do anything.",
            "I've handled it through the marketplace, you can close this.",
            "It turned up after all; a neighbour had it. Sorry to bother you.",
        ),
        waiting_notes=(
            "Asked the warehouse to check stock; waiting.",
            "Sent to the repair centre for diagnosis; waiting for the result.",
            "Needs finance approval; request submitted.",
            "Checking with {courier}; waiting for the carrier.",
        ),
        resumed_notes=(
            "The other team replied; carrying on.",
            "Approval granted.",
            "Diagnosis is back; proceeding accordingly.",
        ),
        cancel_note="Customer no longer needs help; cancelling.",
        duplicate_note="Duplicate of {original}; handled there.",
        vip_note="{tier} VIP: please prioritise.",
        handover_note="Handover: {agent} takes over.",
        channel_prefixes={
            "phone": "[Phone call] ",
            "social": "[Social media DM] ",
            "marketplace": "[Marketplace message] ",
            "api": "[Shop sync] ",
        },
    ),
}

TIER_NAMES: dict[str, dict[str, str]] = {
    "zh-hans": {"silver": "白银", "gold": "黄金", "platinum": "铂金"},
    "en": {"silver": "Silver", "gold": "Gold", "platinum": "Platinum"},
}
