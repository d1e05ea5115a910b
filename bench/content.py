"""Shared content of the seeded and the created cases: weights, products, subjects, names."""

from __future__ import annotations

KIND_WEIGHTS = {
    "repair": 26,
    "return": 24,
    "complaint": 17,
    "inquiry": 15,
    "exchange": 12,
    "dispute": 6,
}
CHANNEL_WEIGHTS = {
    "web": 25,
    "phone": 20,
    "marketplace": 15,
    "email": 15,
    "chat": 15,
    "social": 5,
    "api": 5,
}
PRIORITY_WEIGHTS = {"normal": 56, "high": 26, "low": 10, "urgent": 8}
PRODUCTS = [
    ("SKU-RV-X8", "扫地机器人 X8", "robot vacuum X8"),
    ("SKU-EB-A3", "无线耳机 A3", "wireless earbuds A3"),
    ("SKU-SW-S2", "智能手表 S2", "smart watch S2"),
    ("SKU-AP-P5", "空气净化器 P5", "air purifier P5"),
    ("SKU-RC-R10", "电饭煲 R10", "rice cooker R10"),
    ("SKU-NB-14", "笔记本电脑 Book 14", "laptop Book 14"),
    ("SKU-SP-M1", "蓝牙音箱 M1", "Bluetooth speaker M1"),
    ("SKU-TB-T7", "电动牙刷 T7", "electric toothbrush T7"),
]
SUBJECTS_ZH = {
    "repair": ["{p}无法开机", "{p}充电故障，申请维修", "{p}屏幕出现坏点", "{p}使用中有异响"],
    "return": ["{p}与描述不符，申请退货", "七天无理由退货：{p}", "{p}质量问题，要求退款退货"],
    "exchange": ["{p}发错型号，申请换货", "{p}外包装破损，要求换新", "{p}颜色不对，想换一台"],
    "complaint": ["客服回复太慢，{p}问题一直没解决", "投诉快递员态度差（{p}）", "{p}物流延误一周"],
    "inquiry": ["{p}保修期多久？", "请问{p}的订单能否取消", "{p}发票怎么开"],
    "dispute": ["{p}退款金额不对", "平台判定有误，{p}申请复核", "{p}疑似假货，要求赔偿"],
}
SUBJECTS_EN = {
    "repair": ["{p} does not turn on", "{p} will not charge", "Dead pixels on my {p}"],
    "return": ["{p} not as described, want to return it", "Return request for {p}"],
    "exchange": ["Wrong model of {p} delivered", "{p} arrived damaged, please replace"],
    "complaint": ["Nobody answers about my {p}", "Courier was rude when delivering {p}"],
    "inquiry": ["How long is the warranty on the {p}?", "Can I still cancel my {p} order?"],
    "dispute": ["Refund for {p} is short", "Marketplace ruling on {p} is wrong"],
}
DESCRIPTIONS_ZH = [
    "订单号 {o}，收到后第三天出现问题，已按说明书重启，仍然无效。请尽快处理。",
    "我在 {o} 订单购买了这件商品，希望能尽快给出处理方案，谢谢。",
    "之前已经联系过一次客服，没有后续。订单 {o}。",
]
DESCRIPTIONS_EN = [
    "Order {o}. The problem started on the third day; a restart as the manual says did not help.",
    "Bought this with order {o}. Please tell me what happens next.",
    "I already contacted support once and heard nothing back. Order {o}.",
]
SURNAMES_ZH = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN_ZH = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "婷", "强", "军", "丽"]
FIRST_EN = ["Alice", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Henry", "Ivy", "Jack"]
LAST_EN = ["Smith", "Brown", "Wilson", "Taylor", "Lee", "Martin", "Clark", "Young", "King"]
TAG_NAMES = ["VIP", "加急", "媒体关注", "重复投诉", "保修期内", "批次问题", "需上门", "已赔付"]
